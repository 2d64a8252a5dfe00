//! Publishing axon and Prometheus endpoints.

use tao_primitives::{AccountId, NetUid};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::schema::{Endpoint, Neurons, UidOf};

/// Which endpoint a call publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The miner's or validator's axon.
    Axon,
    /// Its Prometheus exporter.
    Prometheus,
}

/// An endpoint as the call describes it (the block is filled in when stored).
pub fn endpoint(version: u32, ip: u128, port: u16, ip_type: u8, protocol: u8) -> Endpoint {
    Endpoint {
        block: 0,
        version,
        ip,
        port,
        ip_type,
        protocol,
    }
}

/// Publishes an endpoint for the signing hotkey's neuron on `netuid`.
pub fn serve(
    ctx: &mut Ctx<'_>,
    hotkey: &AccountId,
    netuid: NetUid,
    mut endpoint: Endpoint,
    kind: Kind,
) -> Result<(), TxError> {
    let uid = ctx
        .state
        .get::<UidOf>(&(netuid, *hotkey))?
        .ok_or(TxError::HotKeyNotRegisteredInSubNet)?;
    check_address(
        endpoint.ip_type,
        endpoint.ip,
        ctx.globals.allow_local_endpoints,
    )?;
    if endpoint.port == 0 {
        return Err(TxError::InvalidPort);
    }
    let mut neuron = ctx
        .state
        .get::<Neurons>(&(netuid, uid))?
        .ok_or(TxError::HotKeyNotRegisteredInSubNet)?;
    let previous = match kind {
        Kind::Axon => &neuron.axon,
        Kind::Prometheus => &neuron.prometheus,
    };
    let limit = ctx.hparams(netuid)?.serving_rate_limit;
    if previous
        .as_ref()
        .is_some_and(|last| ctx.height.saturating_sub(last.block) < limit)
    {
        return Err(TxError::ServingRateLimitExceeded);
    }
    endpoint.block = ctx.height;
    match kind {
        Kind::Axon => neuron.axon = Some(endpoint),
        Kind::Prometheus => neuron.prometheus = Some(endpoint),
    }
    ctx.state.put::<Neurons>(&(netuid, uid), &neuron);
    ctx.emit(Event::Served {
        netuid,
        hotkey: *hotkey,
    });
    Ok(())
}

/// The live chain's address rules: IPv4 or IPv6 only, not unspecified, not all-ones, and
/// (unless `allow_local`) not loopback.
fn check_address(ip_type: u8, ip: u128, allow_local: bool) -> Result<(), TxError> {
    let loopback = match ip_type {
        4 => {
            if ip == 0 || ip >= u128::from(u32::MAX) {
                return Err(TxError::InvalidIpAddress);
            }
            ip >> 24 == 127
        }
        6 => {
            if ip == 0 || ip == u128::MAX {
                return Err(TxError::InvalidIpAddress);
            }
            ip == 1
        }
        _ => return Err(TxError::InvalidIpType),
    };
    if loopback && !allow_local {
        Err(TxError::InvalidIpAddress)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_rules() {
        assert_eq!(check_address(5, 1, true), Err(TxError::InvalidIpType));
        assert_eq!(check_address(4, 0, true), Err(TxError::InvalidIpAddress));
        assert_eq!(
            check_address(4, u128::from(u32::MAX), true),
            Err(TxError::InvalidIpAddress)
        );
        assert_eq!(
            check_address(4, 0x7f00_0001, false),
            Err(TxError::InvalidIpAddress)
        );
        assert_eq!(check_address(4, 0x7f00_0001, true), Ok(()));
        assert_eq!(check_address(4, 0x0808_0808, false), Ok(()));
        assert_eq!(check_address(6, 1, false), Err(TxError::InvalidIpAddress));
        assert_eq!(
            check_address(6, u128::MAX, true),
            Err(TxError::InvalidIpAddress)
        );
    }
}
