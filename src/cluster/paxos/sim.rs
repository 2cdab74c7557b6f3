//! Seeded simulation of the Paxos core: several proposers run compare-and-set on one
//! register (`UPDATE .. SET v = n + 1 IF v = n`) over 3 or 5 acceptors, through a network
//! that loses, delays, reorders and duplicates messages, with acceptors going down and
//! coming back (their state is durable, as `store` keeps it) and proposer clocks skewed.
//!
//! Checks, per seed (`STRATA_SIM_SEED` replays one): no two applied CAS from the same
//! expected value; the final value (read through Paxos once the network heals) is at least
//! the number of applied CAS and at most that plus the timed-out ones; every answer (applied
//! or not) of an operation that started after an applied one ended reflects it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;
use crate::test_rng::{seed_from_env, Rng};

/// A register write: `Some(v)` sets the value to `v`, `None` writes nothing.
type Write = Option<u64>;

impl Update for Write {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

/// Microseconds per simulated millisecond.
const MS: i64 = 1000;
/// Phase deadline (`write_request_timeout`), contention timeout, in simulated ms.
const PHASE_TIMEOUT_MS: i64 = 40;
const CONTENTION_TIMEOUT_MS: i64 = 1000;

#[derive(Clone, Debug)]
enum ToAcceptor {
    Prepare(Ballot),
    Propose(Commit<Write>),
    /// A commit; `ack` true when the proposer waits for it.
    Commit(Commit<Write>, bool),
    Read,
}

#[derive(Clone, Debug)]
enum ToProposer {
    Promise(Ballot, Promise<Write>),
    Accept(Ballot, bool),
    CommitAck,
    Read(u64, i64),
}

#[derive(Clone, Debug)]
enum Event {
    ToAcceptor {
        to: usize,
        from: usize,
        op: u64,
        message: ToAcceptor,
    },
    ToProposer {
        to: usize,
        from: usize,
        op: u64,
        message: ToProposer,
    },
    /// A proposer's timer (deadline or backoff) for its step `step`.
    Timer {
        proposer: usize,
        step: u64,
    },
    AcceptorDown(usize),
    AcceptorUp(usize),
}

#[derive(Default)]
struct AcceptorNode {
    state: Acceptor<Write>,
    /// The register as stored: (value, write timestamp).
    data: (u64, i64),
    up: bool,
}

/// What a proposer waits for outside the core's own counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Core,
    /// Answers to a quorum read for `ballot`.
    Read(Ballot),
    /// Acks of a replayed commit (then retry) or of the final commit (then done).
    CommitAcks {
        final_commit: bool,
    },
    Backoff,
    Idle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Applied,
    NotApplied(u64),
    Unknown,
}

struct Operation {
    expected: u64,
    started: i64,
    ended: i64,
    outcome: Outcome,
}

struct ProposerNode {
    core: Option<Proposer<Write>>,
    op: u64,
    step: u64,
    waiting: Waiting,
    answers: Vec<(usize, u64, i64)>,
    acks: Vec<usize>,
    /// What the client believes the value is (its next CAS expects it).
    guess: u64,
    /// For the final read only: no update, just the value.
    read_only: bool,
    observed: Option<u64>,
    skew_micros: i64,
    ops_left: usize,
    history: Vec<Operation>,
    started: i64,
}

struct Sim {
    rng: Rng,
    now: i64,
    seq: u64,
    queue: BinaryHeap<Reverse<(i64, u64, usize)>>,
    events: Vec<Option<Event>>,
    acceptors: Vec<AcceptorNode>,
    proposers: Vec<ProposerNode>,
    loss_percent: u64,
    faults: bool,
}

impl Sim {
    fn schedule(&mut self, delay_ms: i64, event: Event) {
        self.seq += 1;
        self.events.push(Some(event));
        let index = self.events.len() - 1;
        self.queue
            .push(Reverse((self.now + delay_ms, self.seq, index)));
    }

    /// Sends over the faulty network: lost, delayed (reordering) or duplicated.
    fn send(&mut self, event: Event) {
        if self.faults && self.rng.chance(self.loss_percent) {
            return;
        }
        let copies = if self.faults && self.rng.chance(3) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.below(if self.faults { 12 } else { 2 }) as i64;
            self.schedule(delay, event.clone());
        }
    }

    fn quorum(&self) -> usize {
        self.acceptors.len() / 2 + 1
    }

    fn begin(&mut self, p: usize, read_only: bool) {
        let n = self.acceptors.len();
        let required = self.quorum();
        let seed = self.rng.next();
        let now = self.now;
        let proposer = self.proposers.get_mut(p).expect("proposer");
        proposer.op += 1;
        proposer.read_only = read_only;
        proposer.observed = None;
        proposer.started = now;
        let clock = now * MS + proposer.skew_micros;
        let mut core = Proposer::new(Config {
            participants: n,
            required,
            give_up_at_micros: clock + CONTENTION_TIMEOUT_MS * MS,
            seed,
        });
        let action = core.start(clock);
        proposer.core = Some(core);
        self.act(p, action);
    }

    fn clock(&self, p: usize) -> i64 {
        self.now * MS + self.proposers.get(p).map_or(0, |x| x.skew_micros)
    }

    fn broadcast(&mut self, p: usize, message: ToAcceptor) {
        let op = self.proposers.get(p).expect("proposer").op;
        for to in 0..self.acceptors.len() {
            self.send(Event::ToAcceptor {
                to,
                from: p,
                op,
                message: message.clone(),
            });
        }
    }

    fn arm(&mut self, p: usize, waiting: Waiting, delay_ms: i64) {
        let proposer = self.proposers.get_mut(p).expect("proposer");
        proposer.step += 1;
        proposer.waiting = waiting;
        proposer.answers.clear();
        proposer.acks.clear();
        let step = proposer.step;
        self.schedule(delay_ms, Event::Timer { proposer: p, step });
    }

    fn act(&mut self, p: usize, action: Action<Write>) {
        match action {
            Action::Prepare(ballot) => {
                self.arm(p, Waiting::Core, PHASE_TIMEOUT_MS);
                self.broadcast(p, ToAcceptor::Prepare(ballot));
            }
            Action::Propose(proposal) => {
                self.arm(p, Waiting::Core, PHASE_TIMEOUT_MS);
                self.broadcast(p, ToAcceptor::Propose(proposal));
            }
            Action::CommitReplay(commit) => {
                self.arm(
                    p,
                    Waiting::CommitAcks {
                        final_commit: false,
                    },
                    PHASE_TIMEOUT_MS,
                );
                self.broadcast(p, ToAcceptor::Commit(commit, true));
            }
            Action::RepairCommit { commit, to } => {
                let op = self.proposers.get(p).expect("proposer").op;
                for to in to {
                    let message = ToAcceptor::Commit(commit.clone(), false);
                    self.send(Event::ToAcceptor {
                        to,
                        from: p,
                        op,
                        message,
                    });
                }
                let clock = self.clock(p);
                let next = self.core(p).retry(clock);
                self.act(p, next);
            }
            Action::Read(ballot) => {
                self.arm(p, Waiting::Read(ballot), PHASE_TIMEOUT_MS);
                self.broadcast(p, ToAcceptor::Read);
            }
            Action::Accepted(commit) => match commit.update {
                Some(_) => {
                    self.arm(
                        p,
                        Waiting::CommitAcks { final_commit: true },
                        PHASE_TIMEOUT_MS,
                    );
                    self.broadcast(p, ToAcceptor::Commit(commit, true));
                }
                None => {
                    let observed = self.proposers.get(p).and_then(|x| x.observed);
                    self.finish(
                        p,
                        Outcome::NotApplied(observed.expect("read before propose")),
                    );
                }
            },
            Action::Backoff(delay) => {
                self.arm(p, Waiting::Backoff, delay.as_millis() as i64);
            }
            Action::Timeout { received, required } => {
                assert!(received < required || required == 0);
                self.finish(p, Outcome::Unknown);
            }
        }
    }

    fn core(&mut self, p: usize) -> &mut Proposer<Write> {
        self.proposers
            .get_mut(p)
            .and_then(|x| x.core.as_mut())
            .expect("a running proposer")
    }

    fn finish(&mut self, p: usize, outcome: Outcome) {
        let now = self.now;
        let proposer = self.proposers.get_mut(p).expect("proposer");
        proposer.core = None;
        proposer.waiting = Waiting::Idle;
        proposer.step += 1;
        let operation = Operation {
            expected: proposer.guess,
            started: proposer.started,
            ended: now,
            outcome,
        };
        match outcome {
            Outcome::Applied => proposer.guess += 1,
            Outcome::NotApplied(value) => proposer.guess = value,
            Outcome::Unknown => {}
        }
        if !proposer.read_only {
            proposer.history.push(operation);
            proposer.ops_left -= 1;
            if proposer.ops_left > 0 {
                let think = 1 + self.rng.below(5) as i64;
                self.arm(p, Waiting::Idle, think);
            }
        }
    }

    fn deliver_to_acceptor(&mut self, to: usize, from: usize, op: u64, message: ToAcceptor) {
        let Some(node) = self.acceptors.get_mut(to).filter(|a| a.up) else {
            return;
        };
        let answer = match message {
            ToAcceptor::Prepare(ballot) => ToProposer::Promise(ballot, node.state.prepare(ballot)),
            ToAcceptor::Propose(proposal) => {
                let ballot = proposal.ballot;
                ToProposer::Accept(ballot, node.state.propose(proposal))
            }
            ToAcceptor::Commit(commit, ack) => {
                if let Some(value) = commit.update {
                    let timestamp = commit.ballot.micros;
                    if timestamp > node.data.1 {
                        node.data = (value, timestamp);
                    }
                }
                node.state.commit(commit);
                if !ack {
                    return;
                }
                ToProposer::CommitAck
            }
            ToAcceptor::Read => ToProposer::Read(node.data.0, node.data.1),
        };
        self.send(Event::ToProposer {
            to: from,
            from: to,
            op,
            message: answer,
        });
    }

    fn deliver_to_proposer(&mut self, p: usize, from: usize, op: u64, message: ToProposer) {
        let required = self.quorum();
        let proposer = self.proposers.get_mut(p).expect("proposer");
        if proposer.op != op || proposer.core.is_none() {
            return;
        }
        let waiting = proposer.waiting;
        let next = match (message, waiting) {
            (ToProposer::Promise(ballot, promise), Waiting::Core) => {
                self.core(p).on_promise(from, ballot, promise)
            }
            (ToProposer::Accept(ballot, accepted), Waiting::Core) => {
                self.core(p).on_accept(from, ballot, accepted)
            }
            (ToProposer::Read(value, timestamp), Waiting::Read(ballot)) => {
                if proposer.answers.iter().any(|a| a.0 == from) {
                    return;
                }
                proposer.answers.push((from, value, timestamp));
                if proposer.answers.len() < required {
                    return;
                }
                let newest = proposer
                    .answers
                    .iter()
                    .max_by_key(|a| a.2)
                    .expect("answers");
                let value = newest.1;
                proposer.observed = Some(value);
                let update = (!proposer.read_only && value == proposer.guess).then_some(value + 1);
                let action = self.core(p).propose(ballot, update);
                Some(action)
            }
            (ToProposer::CommitAck, Waiting::CommitAcks { final_commit }) => {
                if proposer.acks.contains(&from) {
                    return;
                }
                proposer.acks.push(from);
                if proposer.acks.len() < required {
                    return;
                }
                if final_commit {
                    self.finish(p, Outcome::Applied);
                    return;
                }
                let clock = self.clock(p);
                Some(self.core(p).retry(clock))
            }
            _ => None,
        };
        if let Some(action) = next {
            self.act(p, action);
        }
    }

    fn timer(&mut self, p: usize, step: u64) {
        let proposer = self.proposers.get(p).expect("proposer");
        if proposer.step != step {
            return;
        }
        match proposer.waiting {
            Waiting::Idle => {
                if proposer.core.is_none() && proposer.ops_left > 0 {
                    self.begin(p, false);
                }
            }
            Waiting::Backoff => {
                let clock = self.clock(p);
                let next = self.core(p).retry(clock);
                self.act(p, next);
            }
            Waiting::Core => {
                if let Some(next) = self.core(p).on_deadline() {
                    self.act(p, next);
                }
            }
            Waiting::Read(_) | Waiting::CommitAcks { .. } => self.finish(p, Outcome::Unknown),
        }
    }

    fn run(&mut self, until_ms: i64) {
        let mut steps = 0u64;
        while let Some(Reverse((at, _, index))) = self.queue.peek().copied() {
            if at > until_ms {
                break;
            }
            steps += 1;
            assert!(steps < 5_000_000, "the simulation does not settle");
            self.queue.pop();
            self.now = at;
            let Some(event) = self.events.get_mut(index).and_then(Option::take) else {
                continue;
            };
            match event {
                Event::ToAcceptor {
                    to,
                    from,
                    op,
                    message,
                } => self.deliver_to_acceptor(to, from, op, message),
                Event::ToProposer {
                    to,
                    from,
                    op,
                    message,
                } => self.deliver_to_proposer(to, from, op, message),
                Event::Timer { proposer, step } => self.timer(proposer, step),
                Event::AcceptorDown(a) => {
                    if let Some(node) = self.acceptors.get_mut(a) {
                        node.up = false;
                    }
                    let back = 20 + self.rng.below(200) as i64;
                    self.schedule(back, Event::AcceptorUp(a));
                }
                Event::AcceptorUp(a) => {
                    if let Some(node) = self.acceptors.get_mut(a) {
                        node.up = true;
                    }
                }
            }
        }
    }
}

/// Runs one scenario and checks its history; returns (applied, unknown, final value).
fn scenario(
    seed: u64,
    acceptors: usize,
    proposers: usize,
    ops: usize,
    faults: bool,
) -> (usize, usize, u64) {
    let mut rng = Rng(seed);
    let loss_percent = 2 + rng.below(9) as u64;
    let mut sim = Sim {
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        events: Vec::new(),
        acceptors: (0..acceptors)
            .map(|_| AcceptorNode {
                up: true,
                ..AcceptorNode::default()
            })
            .collect(),
        proposers: (0..proposers)
            .map(|_| ProposerNode {
                core: None,
                op: 0,
                step: 0,
                waiting: Waiting::Idle,
                answers: Vec::new(),
                acks: Vec::new(),
                guess: 0,
                read_only: false,
                observed: None,
                skew_micros: rng.below(100_000) as i64 - 50_000,
                ops_left: ops,
                history: Vec::new(),
                started: 0,
            })
            .collect(),
        loss_percent,
        faults,
        rng,
    };
    for p in 0..proposers {
        let start = sim.rng.below(10) as i64;
        sim.arm(p, Waiting::Idle, start);
    }
    // Acceptors crash and restart now and then, at most a minority at a time in
    // expectation (a majority down only slows the run: proposers time out).
    for _ in 0..if faults { acceptors * 2 } else { 0 } {
        let at = sim.rng.below(3000) as i64;
        let a = sim.rng.below(acceptors);
        sim.schedule(at, Event::AcceptorDown(a));
    }
    sim.run(i64::MAX);
    assert!(
        sim.proposers.iter().all(|p| p.ops_left == 0),
        "every operation finished"
    );
    // Heal and read the final value through Paxos.
    sim.faults = false;
    for node in &mut sim.acceptors {
        node.up = true;
    }
    let reader = 0;
    sim.begin(reader, true);
    sim.run(i64::MAX);
    let reader_node = sim.proposers.get(reader).expect("reader");
    let final_value = reader_node.observed.expect("the final read completes");

    let history: Vec<&Operation> = sim.proposers.iter().flat_map(|p| &p.history).collect();
    let applied: Vec<&&Operation> = history
        .iter()
        .filter(|o| o.outcome == Outcome::Applied)
        .collect();
    let unknown = history
        .iter()
        .filter(|o| o.outcome == Outcome::Unknown)
        .count();
    let mut expected: Vec<u64> = applied.iter().map(|o| o.expected).collect();
    expected.sort_unstable();
    let before = expected.len();
    expected.dedup();
    assert_eq!(
        before,
        expected.len(),
        "two CAS applied from one value: {expected:?}"
    );
    assert!(
        expected.iter().all(|e| *e < final_value),
        "{expected:?} vs {final_value}"
    );
    assert!(final_value as usize >= applied.len(), "a lost applied CAS");
    assert!(
        final_value as usize <= applied.len() + unknown,
        "a CAS applied from nowhere"
    );
    for done in &applied {
        for later in history.iter().filter(|o| o.started > done.ended) {
            let seen = match later.outcome {
                Outcome::Applied => later.expected,
                Outcome::NotApplied(value) => value,
                Outcome::Unknown => continue,
            };
            assert!(
                seen > done.expected,
                "a stale answer: {seen} after {}",
                done.expected
            );
        }
    }
    (applied.len(), unknown, final_value)
}

#[test]
fn concurrent_compare_and_set_is_linearizable() {
    let base = seed_from_env("STRATA_SIM_SEED", 0x9A_C05E);
    eprintln!("paxos simulation seed {base:#x} (replay with STRATA_SIM_SEED)");
    let mut totals = (0, 0);
    for round in 0..40u64 {
        let seed = base.wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let acceptors = if round % 2 == 0 { 3 } else { 5 };
        let proposers = 2 + (round % 4) as usize;
        let (applied, unknown, final_value) = scenario(seed, acceptors, proposers, 12, true);
        totals.0 += applied;
        totals.1 += unknown;
        assert!(final_value > 0, "seed {seed:#x}: nothing applied");
    }
    eprintln!("applied {} CAS, {} timed out", totals.0, totals.1);
    assert!(totals.0 > 0);
}

/// Method: the same scenarios on a network that loses nothing, with no acceptor down:
/// contention alone (randomized backoff) must let operations finish; the only timeouts
/// are proposals partly accepted before a competitor overtook them.
#[test]
fn contention_alone_rarely_times_out() {
    let base = seed_from_env("STRATA_SIM_SEED", 0xC0_4E4D);
    eprintln!("paxos contention seed {base:#x} (replay with STRATA_SIM_SEED)");
    for round in 0..20u64 {
        let seed = base.wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let acceptors = if round % 2 == 0 { 3 } else { 5 };
        let proposers = 2 + (round % 4) as usize;
        let (applied, unknown, final_value) = scenario(seed, acceptors, proposers, 12, false);
        // Only a proposal accepted by a minority before a competitor's ballot overtook it
        // times out (its outcome is unknown, as Cassandra's `timeoutIfPartial`): rarely.
        assert!(
            unknown * 10 <= applied,
            "seed {seed:#x}: {unknown} timed out"
        );
        assert!(final_value as usize >= applied, "seed {seed:#x}");
    }
}

#[test]
fn acceptor_rules() {
    let b = |micros| Ballot { micros, node: 0 };
    let mut acceptor = Acceptor::<Write>::default();
    assert!(acceptor.prepare(b(5)).promised);
    let refused = acceptor.prepare(b(4));
    assert!(!refused.promised);
    assert_eq!(refused.highest, b(5));
    assert!(!acceptor.propose(Commit {
        ballot: b(4),
        update: Some(1)
    }));
    assert!(acceptor.propose(Commit {
        ballot: b(5),
        update: Some(1)
    }));
    // A later prepare reports the accepted proposal.
    let promise = acceptor.prepare(b(6));
    assert_eq!(promise.accepted.map(|a| a.ballot), Some(b(5)));
    // An older commit neither replaces a newer one nor clears a newer proposal.
    assert!(acceptor.propose(Commit {
        ballot: b(6),
        update: Some(2)
    }));
    acceptor.commit(Commit {
        ballot: b(5),
        update: Some(1),
    });
    assert_eq!(acceptor.accepted.as_ref().map(|a| a.ballot), Some(b(6)));
    acceptor.commit(Commit {
        ballot: b(6),
        update: Some(2),
    });
    assert_eq!(acceptor.accepted, None);
    acceptor.commit(Commit {
        ballot: b(5),
        update: Some(1),
    });
    assert_eq!(acceptor.most_recent_commit.map(|c| c.ballot), Some(b(6)));
}

#[test]
fn a_newer_in_progress_proposal_is_replayed_before_our_own() {
    let b = |micros| Ballot { micros, node: 0 };
    let mut proposer = Proposer::<Write>::new(Config {
        participants: 3,
        required: 2,
        give_up_at_micros: 1_000_000,
        seed: 7,
    });
    let Action::Prepare(ballot) = proposer.start(10) else {
        panic!()
    };
    let promise = |accepted: Option<Commit<Write>>| Promise {
        promised: true,
        highest: ballot,
        accepted,
        most_recent_commit: Some(Commit {
            ballot: b(1),
            update: Some(1),
        }),
    };
    assert_eq!(proposer.on_promise(0, ballot, promise(None)), None);
    let stale = Some(Commit {
        ballot: b(3),
        update: Some(2),
    });
    let replay = proposer
        .on_promise(2, ballot, promise(stale))
        .expect("a quorum");
    assert_eq!(
        replay,
        Action::Propose(Commit {
            ballot,
            update: Some(2)
        })
    );
    assert_eq!(proposer.on_accept(1, ballot, true), None);
    assert_eq!(
        proposer.on_accept(0, ballot, true),
        Some(Action::CommitReplay(Commit {
            ballot,
            update: Some(2)
        }))
    );
    // The next ballot is above every one seen.
    let Action::Prepare(next) = proposer.retry(11) else {
        panic!()
    };
    assert!(next > ballot);
}

/// Method: a proposal two of three participants refused is not retried while the third may
/// still accept it (a later round would replay it after this one said "not applied");
/// it is retried once the third refuses too, and times out as unknown if it accepts.
#[test]
fn a_refused_proposal_waits_for_the_last_participant() {
    let start = |seed| {
        let mut proposer = Proposer::<Write>::new(Config {
            participants: 3,
            required: 2,
            give_up_at_micros: 1_000_000,
            seed,
        });
        let Action::Prepare(ballot) = proposer.start(10) else {
            panic!()
        };
        let promise = Promise {
            promised: true,
            highest: ballot,
            accepted: None,
            most_recent_commit: None,
        };
        proposer.on_promise(0, ballot, promise.clone());
        assert_eq!(
            proposer.on_promise(1, ballot, promise),
            Some(Action::Read(ballot))
        );
        proposer.propose(ballot, Some(1));
        assert_eq!(proposer.on_accept(0, ballot, false), None);
        assert_eq!(
            proposer.on_accept(1, ballot, false),
            None,
            "the third may accept"
        );
        (proposer, ballot)
    };
    let (mut refused, ballot) = start(1);
    assert!(matches!(
        refused.on_accept(2, ballot, false),
        Some(Action::Backoff(_))
    ));
    let (mut partial, ballot) = start(2);
    assert_eq!(
        partial.on_accept(2, ballot, true),
        Some(Action::Timeout {
            received: 1,
            required: 2
        })
    );
}
