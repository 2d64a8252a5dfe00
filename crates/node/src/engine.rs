//! Wiring of one validator: marshal (finalized-block archives, block broadcast, backfill
//! resolver), the [`Inline`] verification wrapper around [`Chain`], and the simplex engine.
//! Generic over the runtime (tokio in production, deterministic in tests) and over the p2p
//! network (authenticated `lookup` in production, the simulated network in tests).

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::{self, Update, core::Actor, standard::Inline};
use commonware_consensus::simplex::{
    self,
    config::{ForwardPolicy, SkipBudget, SkipPolicy},
    elector::RoundRobin,
};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_consensus::{Application, Reporter};
use commonware_cryptography::{
    Digested, Digestible, Sha256, Signer as _, certificate::ConstantProvider,
    certificate::Verifier as _, ed25519,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Metrics, Spawner, Storage, Supervisor, buffer::paged::CacheRef,
};
use commonware_storage::archive::immutable;
use commonware_utils::{NZU16, NZU64, NZUsize, NonZeroDuration, ordered::Set};
use rand_core::CryptoRng;

#[cfg(doc)]
use crate::app::Chain;
use crate::app::{ConsensusContext, SigningScheme};
use crate::block::Block;

/// One fixed epoch for the whole chain (the validator set is fixed in the chain spec).
const EPOCH_LENGTH: NonZeroU64 = NZU64!(1 << 40);

/// Why a validator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The validator's key is not in the participant set.
    #[error("engine: this key is not one of the validators")]
    NotAValidator,
    /// A marshal archive could not be opened.
    #[error("engine: archive: {0}")]
    Archive(#[from] commonware_storage::archive::Error),
}

/// Consensus settings of a validator.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Domain separation of consensus signatures (the chain id).
    pub namespace: Vec<u8>,
    /// Prefix of every storage partition of this validator.
    pub partition_prefix: String,
    /// How long to wait for the leader's proposal before voting to skip the view.
    pub leader_timeout: Duration,
    /// How long to wait for a notarization to certify before voting to skip.
    pub certification_timeout: Duration,
    /// How often to rebroadcast a skip vote.
    pub timeout_retry: Duration,
    /// How long to wait for a peer's answer to a fetch.
    pub fetch_timeout: NonZeroDuration,
    /// Mailbox size of every actor.
    pub mailbox_size: NonZeroUsize,
}

impl EngineConfig {
    /// Settings for blocks every `block_time`: a leader waits for its parent's time plus the
    /// block time before proposing, so the view timeouts leave that wait plus a margin for the
    /// network (one second, as a sub-second local network needs).
    pub fn for_block_time(
        namespace: &[u8],
        partition_prefix: &str,
        block_time: Duration,
    ) -> EngineConfig {
        let leader_timeout = block_time.saturating_add(Duration::from_secs(1));
        EngineConfig {
            namespace: namespace.to_vec(),
            partition_prefix: partition_prefix.to_owned(),
            leader_timeout,
            certification_timeout: leader_timeout.saturating_add(Duration::from_secs(1)),
            timeout_retry: Duration::from_secs(2),
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(1)),
            mailbox_size: NZUsize!(1024),
        }
    }
}

/// The p2p channels one validator uses.
pub struct Channels<S, R> {
    /// Simplex votes.
    pub votes: (S, R),
    /// Simplex certificates.
    pub certificates: (S, R),
    /// Simplex's own certificate fetching.
    pub simplex_resolver: (S, R),
    /// Marshal backfill of finalized blocks.
    pub backfill: (S, R),
    /// Block broadcast.
    pub blocks: (S, R),
}

/// The running actors of a validator.
pub struct Validator {
    /// The marshal actor.
    pub marshal: Handle<()>,
    /// The simplex engine.
    pub consensus: Handle<()>,
}

fn archive_config<C>(prefix: &str, name: &str, codec_config: C) -> immutable::Config<C> {
    let partition = |part: &str| format!("{prefix}-{name}-{part}");
    immutable::Config {
        metadata_partition: partition("metadata"),
        freezer_table_partition: partition("freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: partition("freezer-key"),
        freezer_key_page_cache: CacheRef::new(NZU16!(1024), NZUsize!(10)),
        freezer_value_partition: partition("freezer-value"),
        freezer_value_target_size: 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: partition("ordinal"),
        items_per_section: NZU64!(64),
        codec_config,
        replay_buffer: NZUsize!(1024),
        freezer_key_write_buffer: NZUsize!(4096),
        freezer_value_write_buffer: NZUsize!(4096),
        ordinal_write_buffer: NZUsize!(4096),
    }
}

/// Starts marshal and simplex for the application `app` (normally a [`Chain`]) whose chain
/// begins at `genesis`, signing with `key` among `participants`.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, A, S, R, P, B>(
    context: E,
    config: &EngineConfig,
    key: ed25519::PrivateKey,
    participants: Set<ed25519::PublicKey>,
    genesis: Block,
    app: A,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
) -> Result<Validator, EngineError>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics + Supervisor + rand_core::Rng,
    A: Application<
            E,
            Block = Block,
            SigningScheme = SigningScheme,
            Context = ConsensusContext,
            Input = (),
        > + Reporter<Activity = Update<Block>>,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
{
    let me = key.public_key();
    let prefix = &config.partition_prefix;
    let scheme = SigningScheme::signer(&config.namespace, participants, key)
        .ok_or(EngineError::NotAValidator)?;
    let genesis_digest = genesis.digest();
    let epocher = FixedEpocher::new(EPOCH_LENGTH);

    let resolver = marshal::resolver::p2p::init(
        context.child("resolver"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: config.mailbox_size,
            fetch_timeout: config.fetch_timeout,
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: config.mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: peers,
            strategy: Sequential,
        },
    );
    broadcast_engine.start(channels.blocks);

    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(
            prefix,
            "finalizations",
            SigningScheme::certificate_codec_config_unbounded(),
        ),
    )
    .await?;
    let finalized_blocks = immutable::Archive::init(
        context.child("blocks"),
        archive_config(prefix, "blocks", ()),
    )
    .await?;
    let (actor, mailbox, _floor) = Actor::init(
        context.child("marshal"),
        finalizations,
        finalized_blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher.clone(),
            start: marshal::Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: config.mailbox_size,
            view_retention: ViewDelta::new(10),
            prunable_items_per_section: NZU64!(64),
            page_cache: CacheRef::new(NZU16!(1024), NZUsize!(10)),
            replay_buffer: NZUsize!(1024),
            key_write_buffer: NZUsize!(4096),
            value_write_buffer: NZUsize!(4096),
            block_codec_config: (),
            max_repair: NZUsize!(10),
            max_pending_acks: NZUsize!(16),
            strategy: Sequential,
        },
    )
    .await;
    let marshal = actor.start(app.clone(), buffer, resolver);

    let wrapper = Inline::new(context.child("inline"), app, mailbox, epocher);
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::config::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: wrapper,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: config.mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache: CacheRef::new(NZU16!(1024), NZUsize!(10)),
            leader_timeout: config.leader_timeout,
            certification_timeout: config.certification_timeout,
            timeout_retry: config.timeout_retry,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: config.leader_timeout.saturating_mul(5),
                budget: SkipBudget::Participants,
            },
            fetch_timeout: config.fetch_timeout,
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let consensus = engine.start(
        channels.votes,
        channels.certificates,
        channels.simplex_resolver,
    );
    Ok(Validator { marshal, consensus })
}
