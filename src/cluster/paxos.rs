//! Lightweight transactions across replicas: Cassandra 5.0's classic Paxos (v1, as
//! `StorageProxy.cas`, `PaxosState`, `Commit`, `PrepareCallback`, `ProposeCallback`), sans-IO.
//!
//! One round of a compare-and-set on one partition, as the coordinator runs it:
//! 1. Prepare a ballot above every ballot seen on all participants; wait for `required`
//!    promises (one refusal: contention, back off and prepare again).
//! 2. If a promise reports an accepted proposal newer than the most recent commit, replay it
//!    under the new ballot (propose, then commit at quorum) and start again; if a responder
//!    lacks the most recent commit, send it that commit and start again.
//! 3. Otherwise the ballot is ours: the caller reads the partition at quorum, evaluates its
//!    condition and proposes its update (empty when the condition failed, and for SERIAL
//!    reads), timestamped with the ballot.
//! 4. `required` acceptances: the caller commits a non-empty update at the statement's
//!    consistency. A full refusal is contention (back off, start again); a partial one is a
//!    timeout, since another proposer may still finish that proposal.
//!
//! `Proposer` holds those decisions; the IO shell (`coordinator::paxos`) sends what each
//! `Action` says, feeds back the answers and the phase deadlines, and sleeps the backoffs.
//! `Acceptor` is what a replica does with each verb; the replica persists its state
//! (`store`) before answering.
//!
//! Invariants (checked by the seeded simulation in `sim.rs`):
//! - A proposer's ballots only grow, and each is above every ballot it has seen; an update
//!   is proposed only under a ballot whose microseconds (the commit's cell timestamp) are
//!   above those of every accepted or committed ballot its promises reported.
//! - An acceptor never promises or accepts below a ballot it promised; its most recent
//!   commit never goes back; a commit clears only an accepted proposal at or below it.
//! - A proposer proposes its own update only after a quorum promised its ballot with no
//!   newer in-progress proposal and every responder holding the most recent commit; so an
//!   update accepted by a quorum is committed before any later one is proposed.
//! - Empty updates are never replayed nor committed (Cassandra's optimisation: they change
//!   nothing, and skipping their replay is what lets them be skipped at commit).

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod store;

#[cfg(test)]
mod sim;

/// A Paxos ballot: a timeuuid's order (timestamp in microseconds, then the proposer's
/// random node part). The commit of a proposal is written with `micros` as its timestamp,
/// so later ballots write later cells.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ballot {
    pub micros: i64,
    pub node: u64,
}

/// What a proposal writes: anything that can be empty (a failed condition, a SERIAL read).
pub trait Update: Clone {
    fn is_empty(&self) -> bool;
}

/// A proposal or commit: an update under a ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit<U> {
    pub ballot: Ballot,
    pub update: U,
}

/// A replica's Paxos state for one partition (Cassandra's `system.paxos` row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptor<U> {
    /// The highest ballot promised (or accepted).
    pub promised: Ballot,
    /// The proposal accepted and not yet known committed.
    pub accepted: Option<Commit<U>>,
    /// The newest commit learned.
    pub most_recent_commit: Option<Commit<U>>,
}

impl<U> Default for Acceptor<U> {
    fn default() -> Self {
        Acceptor {
            promised: Ballot::default(),
            accepted: None,
            most_recent_commit: None,
        }
    }
}

/// An acceptor's answer to a prepare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise<U> {
    /// Whether the ballot was promised; if not, `promised` is the ballot that beat it.
    pub promised: bool,
    pub highest: Ballot,
    pub accepted: Option<Commit<U>>,
    pub most_recent_commit: Option<Commit<U>>,
}

impl<U: Update> Acceptor<U> {
    /// `PaxosState.prepare`: promises `ballot` if it is above every promise made. The
    /// state changes (and must be persisted before answering) only when it promises.
    pub fn prepare(&mut self, ballot: Ballot) -> Promise<U> {
        let promised = ballot > self.promised;
        if promised {
            self.promised = ballot;
        }
        Promise {
            promised,
            highest: self.promised,
            accepted: self.accepted.clone(),
            most_recent_commit: self.most_recent_commit.clone(),
        }
    }

    /// `PaxosState.propose`: accepts a proposal at or above the promised ballot.
    pub fn propose(&mut self, proposal: Commit<U>) -> bool {
        if proposal.ballot < self.promised {
            return false;
        }
        self.promised = proposal.ballot;
        self.accepted = Some(proposal);
        true
    }

    /// `PaxosState.commit`: learns a commit (the caller applies its update to the data,
    /// always: cell timestamps order updates that arrive out of order). Only a newer commit
    /// replaces the most recent one, and only an accepted proposal at or below it is done.
    pub fn commit(&mut self, commit: Commit<U>) {
        if self
            .accepted
            .as_ref()
            .is_some_and(|a| a.ballot <= commit.ballot)
        {
            self.accepted = None;
        }
        if self
            .most_recent_commit
            .as_ref()
            .is_none_or(|c| c.ballot < commit.ballot)
        {
            self.most_recent_commit = Some(commit);
        }
    }
}

/// How a proposer is set up for one request.
#[derive(Clone, Debug)]
pub struct Config {
    /// Participants: the replicas of the partition (of the local DC for LOCAL_SERIAL).
    pub participants: usize,
    /// Promises and acceptances needed: a quorum of the participants.
    pub required: usize,
    /// When the proposer gives up contending (`cas_contention_timeout` after the start).
    pub give_up_at_micros: i64,
    /// Seeds the proposer's node part of its ballots and its backoff jitter.
    pub seed: u64,
}

/// What the shell does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<U> {
    /// Send a prepare of this ballot to every participant; feed `on_promise`.
    Prepare(Ballot),
    /// Send this proposal to every participant; feed `on_accept`.
    Propose(Commit<U>),
    /// A replayed proposal was accepted: commit it on every replica at quorum, then call
    /// `retry`.
    CommitReplay(Commit<U>),
    /// Send this commit to these participants (they lack it), without waiting; then `retry`.
    RepairCommit { commit: Commit<U>, to: Vec<usize> },
    /// The ballot is promised and the partition's state settled: read it at quorum,
    /// decide and call `propose` with the update (empty when nothing is written).
    Read(Ballot),
    /// The caller's proposal was accepted by a quorum: commit it (unless empty) at the
    /// statement's consistency. The request is done.
    Accepted(Commit<U>),
    /// Contention: sleep this long, then call `retry`.
    Backoff(Duration),
    /// Give up: WriteTimeout of type CAS with these counts.
    Timeout { received: usize, required: usize },
}

/// Where a round stands.
#[derive(Clone, Debug)]
enum Phase<U> {
    Preparing {
        ballot: Ballot,
        /// The promises counted, by participant (the first `required` only).
        promises: Vec<Option<Promise<U>>>,
    },
    Proposing {
        proposal: Commit<U>,
        /// The caller's own proposal (not a replay).
        own: bool,
        answers: Vec<Option<bool>>,
    },
    /// Waiting for the shell (a read, a backoff, a replay commit).
    Waiting,
    Done,
}

/// One compare-and-set (or SERIAL read) as a state machine.
#[derive(Clone, Debug)]
pub struct Proposer<U> {
    config: Config,
    /// Every ballot seen in an answer: the next ballot is above it.
    highest_seen: Ballot,
    /// Contentions met (backoffs taken), for the client's metrics.
    pub contentions: u32,
    rng: u64,
    phase: Phase<U>,
}

/// Cassandra v1 sleeps a random 0-100 ms between contending attempts.
const BACKOFF_MAX_MILLIS: u64 = 100;

impl<U: Update> Proposer<U> {
    pub fn new(config: Config) -> Proposer<U> {
        assert!(config.required > 0 && config.required <= config.participants);
        let rng = config.seed | 1;
        Proposer {
            config,
            highest_seen: Ballot::default(),
            contentions: 0,
            rng,
            phase: Phase::Done,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic for a seed, enough for jitter and node parts.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The first action: prepare a ballot (call once, at the start).
    pub fn start(&mut self, now_micros: i64) -> Action<U> {
        self.prepare(now_micros)
    }

    /// After a backoff, a repair or a replayed commit: prepare again, or give up once the
    /// contention timeout passed.
    pub fn retry(&mut self, now_micros: i64) -> Action<U> {
        if now_micros >= self.config.give_up_at_micros {
            self.phase = Phase::Done;
            return Action::Timeout {
                received: 0,
                required: self.config.required,
            };
        }
        self.prepare(now_micros)
    }

    fn prepare(&mut self, now_micros: i64) -> Action<U> {
        let micros = now_micros.max(self.highest_seen.micros.saturating_add(1));
        let ballot = Ballot {
            micros,
            node: self.random(),
        };
        assert!(ballot > self.highest_seen);
        self.highest_seen = ballot;
        self.phase = Phase::Preparing {
            ballot,
            promises: vec![None; self.config.participants],
        };
        Action::Prepare(ballot)
    }

    fn saw(&mut self, ballot: Ballot) {
        self.highest_seen = self.highest_seen.max(ballot);
    }

    fn backoff(&mut self) -> Action<U> {
        self.contentions += 1;
        self.phase = Phase::Waiting;
        Action::Backoff(Duration::from_millis(self.random() % BACKOFF_MAX_MILLIS))
    }

    /// A participant's answer to the current prepare (others and extras are ignored).
    pub fn on_promise(
        &mut self,
        from: usize,
        ballot: Ballot,
        promise: Promise<U>,
    ) -> Option<Action<U>> {
        let ballots = [
            Some(promise.highest),
            promise.accepted.as_ref().map(|a| a.ballot),
            promise.most_recent_commit.as_ref().map(|c| c.ballot),
        ];
        for seen in ballots.into_iter().flatten() {
            self.saw(seen);
        }
        let required = self.config.required;
        let Phase::Preparing {
            ballot: current,
            promises,
        } = &mut self.phase
        else {
            return None;
        };
        if *current != ballot || promises.get(from).is_none_or(Option::is_some) {
            return None;
        }
        if !promise.promised {
            return Some(self.backoff());
        }
        if let Some(slot) = promises.get_mut(from) {
            *slot = Some(promise);
        }
        if promises.iter().flatten().count() < required {
            return None;
        }
        let promises = std::mem::take(promises);
        Some(self.promised(ballot, promises))
    }

    /// A quorum promised `ballot`: finish what earlier rounds left, or let the caller read.
    fn promised(&mut self, ballot: Ballot, promises: Vec<Option<Promise<U>>>) -> Action<U> {
        let newest = |c: &Option<Commit<U>>| c.as_ref().map(|c| c.ballot);
        // A commit is written at its ballot's microseconds: a ballot that beat an earlier
        // one only by its node part would write at the same timestamp as that one's
        // commit, and the cells would tie. Prepare again above it (at once: this is not
        // contention, only a coarse or skewed clock).
        let earlier = promises
            .iter()
            .flatten()
            .flat_map(|p| [newest(&p.accepted), newest(&p.most_recent_commit)])
            .flatten()
            .max();
        if earlier.is_some_and(|e| e.micros >= ballot.micros) {
            return self.prepare(ballot.micros);
        }
        let most_recent = promises
            .iter()
            .flatten()
            .filter_map(|p| p.most_recent_commit.clone())
            .max_by_key(|c| c.ballot);
        let in_progress = promises
            .iter()
            .flatten()
            .filter_map(|p| p.accepted.clone())
            .filter(|a| !a.update.is_empty())
            .max_by_key(|a| a.ballot);
        if let Some(in_progress) =
            in_progress.filter(|a| Some(a.ballot) > most_recent.as_ref().map(|c| c.ballot))
        {
            let replay = Commit {
                ballot,
                update: in_progress.update,
            };
            return self.propose_commit(replay, false);
        }
        if let Some(most_recent) = most_recent {
            let missing: Vec<usize> = promises
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let p = p.as_ref()?;
                    (newest(&p.most_recent_commit) != Some(most_recent.ballot)).then_some(i)
                })
                .collect();
            if !missing.is_empty() {
                self.phase = Phase::Waiting;
                return Action::RepairCommit {
                    commit: most_recent,
                    to: missing,
                };
            }
        }
        self.phase = Phase::Waiting;
        Action::Read(ballot)
    }

    fn propose_commit(&mut self, proposal: Commit<U>, own: bool) -> Action<U> {
        self.phase = Phase::Proposing {
            proposal: proposal.clone(),
            own,
            answers: vec![None; self.config.participants],
        };
        Action::Propose(proposal)
    }

    /// The caller's decision after `Read(ballot)`: propose `update` under that ballot.
    pub fn propose(&mut self, ballot: Ballot, update: U) -> Action<U> {
        assert!(matches!(self.phase, Phase::Waiting));
        self.propose_commit(Commit { ballot, update }, true)
    }

    /// A participant's answer to the current proposal.
    pub fn on_accept(&mut self, from: usize, ballot: Ballot, accepted: bool) -> Option<Action<U>> {
        let (required, participants) = (self.config.required, self.config.participants);
        let Phase::Proposing {
            proposal,
            own,
            answers,
        } = &mut self.phase
        else {
            return None;
        };
        if proposal.ballot != ballot || answers.get(from).is_none_or(Option::is_some) {
            return None;
        }
        if let Some(slot) = answers.get_mut(from) {
            *slot = Some(accepted);
        }
        let accepts = answers.iter().filter(|a| **a == Some(true)).count();
        let refusals = answers.iter().filter(|a| **a == Some(false)).count();
        if accepts >= required {
            let proposal = proposal.clone();
            let own = *own;
            self.phase = Phase::Waiting;
            return Some(match own {
                true => {
                    self.phase = Phase::Done;
                    Action::Accepted(proposal)
                }
                false => Action::CommitReplay(proposal),
            });
        }
        // Cassandra's ProposeCallback fails fast once a quorum can no longer accept.
        if participants - refusals >= required {
            return None;
        }
        // Unlike it, a proposal is "fully refused" (safe to retry) only once every
        // participant refused it: one still to answer may accept it, and a later round
        // would then replay it although this one reported it not applied.
        if accepts == 0 && answers.iter().any(Option::is_none) {
            return None;
        }
        if accepts > 0 && *own && !proposal.update.is_empty() {
            // Partly accepted: another proposer may still complete it, so its outcome is
            // unknown (Cassandra's `timeoutIfPartial`).
            self.phase = Phase::Done;
            return Some(Action::Timeout {
                received: accepts,
                required,
            });
        }
        Some(self.backoff())
    }

    /// The current proposal was not sent to participant `from` (believed down): it can
    /// never accept it, as if it refused.
    pub fn not_sent(&mut self, from: usize) -> Option<Action<U>> {
        let ballot = match &self.phase {
            Phase::Proposing { proposal, .. } => proposal.ballot,
            _ => return None,
        };
        self.on_accept(from, ballot, false)
    }

    /// The current phase's deadline passed (`write_request_timeout`): a prepare or proposal
    /// still short of a quorum gives WriteTimeout with what it received.
    pub fn on_deadline(&mut self) -> Option<Action<U>> {
        let required = self.config.required;
        let received = match &self.phase {
            Phase::Preparing { promises, .. } => promises.iter().flatten().count(),
            Phase::Proposing { answers, .. } => {
                answers.iter().filter(|a| **a == Some(true)).count()
            }
            Phase::Waiting | Phase::Done => return None,
        };
        self.phase = Phase::Done;
        Some(Action::Timeout { received, required })
    }
}
