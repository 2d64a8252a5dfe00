//! Weight commit-reveal: the hash a validator commits and later opens.

use parity_scale_codec::Encode;
use tao_primitives::{AccountId, Hash256, NetUid};

/// The hash a validator commits to and later reveals: blake2b-256 of the SCALE encoding of
/// `(hotkey, netuid, uids, values, salt, version_key)`, as the live chain and the bittensor
/// SDK compute it.
pub fn commit_hash(
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Hash256 {
    Hash256::blake2(&(hotkey, netuid, uids, values, salt, version_key).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_commits_to_every_field() {
        let hotkey = AccountId([7; 32]);
        let base = commit_hash(&hotkey, NetUid(1), &[0, 1], &[10, 20], &[3], 5);
        assert_eq!(
            base,
            commit_hash(&hotkey, NetUid(1), &[0, 1], &[10, 20], &[3], 5)
        );
        for other in [
            commit_hash(&AccountId([8; 32]), NetUid(1), &[0, 1], &[10, 20], &[3], 5),
            commit_hash(&hotkey, NetUid(2), &[0, 1], &[10, 20], &[3], 5),
            commit_hash(&hotkey, NetUid(1), &[1, 0], &[10, 20], &[3], 5),
            commit_hash(&hotkey, NetUid(1), &[0, 1], &[20, 10], &[3], 5),
            commit_hash(&hotkey, NetUid(1), &[0, 1], &[10, 20], &[4], 5),
            commit_hash(&hotkey, NetUid(1), &[0, 1], &[10, 20], &[3], 6),
        ] {
            assert_ne!(base, other);
        }
    }
}
