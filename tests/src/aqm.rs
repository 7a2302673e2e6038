//! Active queue management for the bottleneck: CoDel (RFC 8289) and
//! FQ-CoDel (RFC 8290), beside the link's plain drop-tail queue.
//!
//! Both are packet schedulers over items of any type `T` (the simulator
//! queues its packet buffers; the unit tests queue numbers), told each
//! item's size, flow and ECN capability in a [`PacketInfo`], and timed by
//! the simulator's virtual clock: an item's sojourn time runs from
//! [`Qdisc::enqueue`] to the [`Qdisc::dequeue`] that hands it to the
//! transmitter. Nothing here reads a clock or draws a random number; the
//! flow hash of FQ-CoDel is keyed by a seed the caller passes in.
//!
//! Each discipline has an `ecn` switch. When it is on, a packet the
//! control law picks is marked Congestion Experienced instead of dropped
//! if it is ECN-capable (ECT(0) or ECT(1) in its IP header, RFC 3168);
//! packets that are not ECN-capable are still dropped. synack's core
//! sends new data ECT(0) once ECN was agreed (`Config::ecn`), so with ECN
//! on at the hosts as well the data packets are marked and the pure ACKs
//! and retransmissions are still dropped.

use std::collections::VecDeque;

use synack_core::{Duration, Instant};

use crate::config::QueueLimit;

/// CoDel's parameters (RFC 8289 §4.3–4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoDelParams {
    /// The acceptable standing queue delay (TARGET, 5 ms).
    pub target: Duration,
    /// The window over which the minimum sojourn time is watched, and the
    /// control law's base (INTERVAL, 100 ms).
    pub interval: Duration,
    /// Mark ECN-capable packets Congestion Experienced instead of
    /// dropping them (see the module's documentation).
    pub ecn: bool,
}

impl Default for CoDelParams {
    fn default() -> CoDelParams {
        CoDelParams {
            target: Duration::from_millis(5),
            interval: Duration::from_millis(100),
            ecn: false,
        }
    }
}

/// FQ-CoDel's parameters (RFC 8290 §4–5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FqCoDelParams {
    /// CoDel's parameters, used by every flow queue.
    pub codel: CoDelParams,
    /// Bytes a queue may send per round of the deficit round robin (1514,
    /// one Ethernet frame).
    pub quantum: u32,
    /// Number of flow queues packets are hashed into (1024).
    pub flows: usize,
}

impl Default for FqCoDelParams {
    fn default() -> FqCoDelParams {
        FqCoDelParams {
            codel: CoDelParams::default(),
            quantum: 1514,
            flows: 1024,
        }
    }
}

/// The bottleneck queue's discipline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aqm {
    /// First in, first out, arrivals dropped when the queue is full.
    #[default]
    DropTail,
    /// One FIFO under CoDel; arrivals dropped when the queue is full.
    CoDel(CoDelParams),
    /// Flow queues under CoDel each, served by deficit round robin;
    /// when the queue is full, packets are dropped from the head of the
    /// queue holding the most bytes.
    FqCoDel(FqCoDelParams),
}

impl Aqm {
    /// CoDel with RFC 8289's defaults.
    pub fn codel() -> Aqm {
        Aqm::CoDel(CoDelParams::default())
    }

    /// FQ-CoDel with RFC 8290's defaults.
    pub fn fq_codel() -> Aqm {
        Aqm::FqCoDel(FqCoDelParams::default())
    }

    /// The name in summaries and on the command line: `droptail`,
    /// `codel`, `fq-codel`.
    pub fn name(&self) -> &'static str {
        match self {
            Aqm::DropTail => "droptail",
            Aqm::CoDel(_) => "codel",
            Aqm::FqCoDel(_) => "fq-codel",
        }
    }

    /// The same discipline, marking ECN-capable packets instead of
    /// dropping them when `on` (drop-tail has nothing to mark with).
    pub fn with_ecn(self, on: bool) -> Aqm {
        match self {
            Aqm::DropTail => Aqm::DropTail,
            Aqm::CoDel(p) => Aqm::CoDel(CoDelParams { ecn: on, ..p }),
            Aqm::FqCoDel(p) => Aqm::FqCoDel(FqCoDelParams {
                codel: CoDelParams { ecn: on, ..p.codel },
                ..p
            }),
        }
    }

    /// Whether ECN-capable packets are marked instead of dropped.
    pub fn ecn(&self) -> bool {
        match self {
            Aqm::DropTail => false,
            Aqm::CoDel(p) => p.ecn,
            Aqm::FqCoDel(p) => p.codel.ecn,
        }
    }
}

/// A packet's 5-tuple, what FQ-CoDel hashes to pick its queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// IP protocol number.
    pub protocol: u8,
    /// Source port (zero when the protocol has none or it is missing).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl FlowKey {
    /// The 5-tuple of an IPv4 packet; what cannot be read stays zero (a
    /// malformed packet lands in some queue, never a panic).
    pub fn from_ipv4(packet: &[u8]) -> FlowKey {
        let mut key = FlowKey::default();
        if packet.len() < 20 || packet[0] >> 4 != 4 {
            return key;
        }
        key.protocol = packet[9];
        key.src.copy_from_slice(&packet[12..16]);
        key.dst.copy_from_slice(&packet[16..20]);
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        if matches!(key.protocol, 6 | 17) && ihl >= 20 && packet.len() >= ihl + 4 {
            key.src_port = u16::from_be_bytes([packet[ihl], packet[ihl + 1]]);
            key.dst_port = u16::from_be_bytes([packet[ihl + 2], packet[ihl + 3]]);
        }
        key
    }

    /// The key as bytes, in a fixed order, for hashing.
    fn bytes(&self) -> [u8; 13] {
        let mut b = [0u8; 13];
        b[..4].copy_from_slice(&self.src);
        b[4..8].copy_from_slice(&self.dst);
        b[8] = self.protocol;
        b[9..11].copy_from_slice(&self.src_port.to_be_bytes());
        b[11..].copy_from_slice(&self.dst_port.to_be_bytes());
        b
    }
}

/// True when an IPv4 packet is ECN-capable (ECT(0) or ECT(1), RFC 3168
/// §5).
pub fn ipv4_ect(packet: &[u8]) -> bool {
    packet.len() >= 20 && packet[0] >> 4 == 4 && matches!(packet[1] & 0b11, 0b01 | 0b10)
}

/// Sets an IPv4 packet's ECN field to Congestion Experienced and
/// recomputes its header checksum. Does nothing to a packet too short to
/// hold its header.
pub fn ipv4_mark_ce(packet: &mut [u8]) {
    let ihl = packet.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    if ihl < 20 || packet.len() < ihl {
        return;
    }
    packet[1] |= 0b11;
    packet[10..12].fill(0);
    let mut sum: u32 = packet[..ihl]
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    packet[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// What the queue knows of a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// Size in bytes (the IP packet).
    pub len: u32,
    /// ECN-capable transport (may be marked instead of dropped).
    pub ect: bool,
    /// Its 5-tuple (FQ-CoDel's classifier).
    pub flow: FlowKey,
}

/// A packet leaving the queue for the transmitter.
#[derive(Debug, PartialEq, Eq)]
pub struct Dequeued<T> {
    /// The packet.
    pub item: T,
    /// Its size.
    pub len: u32,
    /// Time from its enqueue to now.
    pub sojourn: Duration,
    /// CoDel picked it and it is ECN-capable with `ecn` on: the caller
    /// must set Congestion Experienced in its header.
    pub mark_ce: bool,
}

/// Counters of an AQM queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AqmStats {
    /// Packets CoDel dropped at dequeue (the control law).
    pub codel_drops: u64,
    /// Packets dropped because the queue was full (the arrival for
    /// CoDel, the fattest queue's head for FQ-CoDel).
    pub overflow_drops: u64,
    /// Packets marked Congestion Experienced instead of dropped.
    pub ecn_marks: u64,
}

#[derive(Debug)]
struct Entry<T> {
    item: T,
    len: u32,
    ect: bool,
    enqueued: Instant,
}

/// A FIFO and its byte count.
#[derive(Debug)]
struct Fifo<T> {
    q: VecDeque<Entry<T>>,
    bytes: u64,
}

impl<T> Default for Fifo<T> {
    fn default() -> Fifo<T> {
        Fifo {
            q: VecDeque::new(),
            bytes: 0,
        }
    }
}

/// Packets and bytes held by a whole discipline.
#[derive(Clone, Copy, Debug, Default)]
struct Backlog {
    packets: usize,
    bytes: u64,
}

impl Backlog {
    fn add(&mut self, len: u32) {
        self.packets += 1;
        self.bytes += u64::from(len);
    }

    fn remove(&mut self, len: u32) {
        self.packets -= 1;
        self.bytes -= u64::from(len);
    }

    /// Over `limit` (a byte limit lets an empty queue take any packet).
    fn over(&self, limit: QueueLimit) -> bool {
        match limit {
            QueueLimit::Packets(n) => self.packets > n.max(1),
            QueueLimit::Bytes(b) => self.packets > 1 && self.bytes > b as u64,
            QueueLimit::Bdp(_) => false,
        }
    }
}

/// What CoDel's dequeue needs besides its state: the parameters and
/// MAXPACKET.
#[derive(Clone, Copy, Debug)]
struct Rules {
    p: CoDelParams,
    mtu: u32,
}

/// CoDel's control loop for one queue (RFC 8289 §5): the state its
/// dequeue keeps between packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoDelState {
    /// When the sojourn time, above TARGET since, will have been so for
    /// INTERVAL (`None` while below).
    first_above_time: Option<Instant>,
    /// When the next drop is due while dropping.
    drop_next: Instant,
    /// Drops (and marks) since entering the dropping state, with the
    /// carry-over of §5.5.
    count: u32,
    /// `count` when the dropping state was last entered.
    lastcount: u32,
    /// In the dropping state.
    dropping: bool,
}

impl CoDelState {
    /// True while in the dropping state.
    pub fn dropping(&self) -> bool {
        self.dropping
    }

    /// The drop count of the control law.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// When the next drop is due (meaningful while dropping).
    pub fn drop_next(&self) -> Instant {
        self.drop_next
    }

    /// `t + interval / sqrt(count)`, to the microsecond (RFC 8289 §5.3).
    fn control_law(t: Instant, interval: Duration, count: u32) -> Instant {
        let us = interval.total_micros() as f64 / f64::from(count.max(1)).sqrt();
        t + Duration::from_micros(us as u64)
    }

    /// Takes the head of `fifo` and tells whether CoDel may drop it: its
    /// sojourn time has stayed at or above TARGET for INTERVAL while more
    /// than an MTU is queued (RFC 8289 §5.4, `dodequeue`). `backlog` is
    /// what the MTU test looks at (the whole discipline's).
    fn head<T>(
        &mut self,
        rules: Rules,
        now: Instant,
        fifo: &mut Fifo<T>,
        backlog: &mut Backlog,
    ) -> Option<(Entry<T>, bool)> {
        let Some(e) = fifo.q.pop_front() else {
            // An empty queue cannot be above TARGET.
            self.first_above_time = None;
            return None;
        };
        fifo.bytes -= u64::from(e.len);
        backlog.remove(e.len);
        let (p, mtu) = (rules.p, rules.mtu);
        let sojourn = now.saturating_duration_since(e.enqueued);
        let mut ok_to_drop = false;
        if sojourn < p.target || backlog.bytes <= u64::from(mtu) {
            // Below: stay below for at least INTERVAL.
            self.first_above_time = None;
        } else {
            match self.first_above_time {
                None => self.first_above_time = Some(now + p.interval),
                Some(t) if now >= t => ok_to_drop = true,
                Some(_) => {}
            }
        }
        Some((e, ok_to_drop))
    }

    /// CoDel's dequeue (RFC 8289 §5.5): the packet to send, after the
    /// drops the control law calls for (pushed onto `drops`).
    fn dequeue<T>(
        &mut self,
        rules: Rules,
        now: Instant,
        fifo: &mut Fifo<T>,
        backlog: &mut Backlog,
        drops: &mut Vec<T>,
        stats: &mut AqmStats,
    ) -> Option<Dequeued<T>> {
        let p = rules.p;
        let mut r = self.head(rules, now, fifo, backlog);
        let mut mark = false;
        if self.dropping {
            if !r.as_ref().is_some_and(|r| r.1) {
                // Sojourn time below TARGET (or the queue is empty):
                // leave the dropping state.
                self.dropping = false;
            }
            // A large backlog may call for the next drop at once, hence
            // the loop.
            while self.dropping && now >= self.drop_next {
                let Some((e, _)) = r.take() else {
                    self.dropping = false;
                    break;
                };
                self.count = self.count.saturating_add(1);
                if p.ecn && e.ect {
                    // Marked, not dropped: it is the packet sent.
                    stats.ecn_marks += 1;
                    mark = true;
                    self.drop_next = Self::control_law(self.drop_next, p.interval, self.count);
                    r = Some((e, true));
                    break;
                }
                stats.codel_drops += 1;
                drops.push(e.item);
                r = self.head(rules, now, fifo, backlog);
                if r.as_ref().is_some_and(|r| r.1) {
                    self.drop_next = Self::control_law(self.drop_next, p.interval, self.count);
                } else {
                    self.dropping = false;
                }
            }
        } else if let Some((e, true)) = r {
            // Above TARGET for INTERVAL: enter the dropping state, with
            // this packet the first drop (or mark).
            if p.ecn && e.ect {
                stats.ecn_marks += 1;
                mark = true;
                r = Some((e, true));
            } else {
                stats.codel_drops += 1;
                drops.push(e.item);
                r = self.head(rules, now, fifo, backlog);
            }
            self.dropping = true;
            // If the queue went above TARGET again soon after the last
            // dropping state ended, that state's drop rate is a good
            // start: carry its count over (RFC 8289 §5.5, as Linux; a
            // `drop_next` still ahead counts as recent).
            let delta = self.count.wrapping_sub(self.lastcount);
            self.count = 1;
            if delta > 1
                && now.saturating_duration_since(self.drop_next) < p.interval.saturating_mul(16)
            {
                self.count = delta;
            }
            self.drop_next = Self::control_law(now, p.interval, self.count);
            self.lastcount = self.count;
        }
        r.map(|(e, _)| Dequeued {
            sojourn: now.saturating_duration_since(e.enqueued),
            item: e.item,
            len: e.len,
            mark_ce: mark,
        })
    }
}

/// One FIFO under CoDel (RFC 8289), tail-dropping when full.
#[derive(Debug)]
pub struct CoDel<T> {
    params: CoDelParams,
    mtu: u32,
    limit: QueueLimit,
    fifo: Fifo<T>,
    backlog: Backlog,
    state: CoDelState,
    stats: AqmStats,
}

impl<T> CoDel<T> {
    /// An empty queue; `mtu` is CoDel's MAXPACKET (a queue holding no
    /// more than this is never above TARGET).
    pub fn new(params: CoDelParams, limit: QueueLimit, mtu: u32) -> CoDel<T> {
        CoDel {
            params,
            mtu,
            limit,
            fifo: Fifo::default(),
            backlog: Backlog::default(),
            state: CoDelState::default(),
            stats: AqmStats::default(),
        }
    }

    /// The control loop's state.
    pub fn state(&self) -> &CoDelState {
        &self.state
    }

    /// Queues a packet; when the queue is full it is dropped and
    /// returned.
    pub fn enqueue(&mut self, now: Instant, item: T, info: PacketInfo) -> Result<(), T> {
        self.backlog.add(info.len);
        if self.backlog.over(self.limit) {
            self.backlog.remove(info.len);
            self.stats.overflow_drops += 1;
            return Err(item);
        }
        self.fifo.bytes += u64::from(info.len);
        self.fifo.q.push_back(Entry {
            item,
            len: info.len,
            ect: info.ect,
            enqueued: now,
        });
        Ok(())
    }

    /// The next packet to send, after CoDel's drops (onto `drops`).
    pub fn dequeue(&mut self, now: Instant, drops: &mut Vec<T>) -> Option<Dequeued<T>> {
        let rules = Rules {
            p: self.params,
            mtu: self.mtu,
        };
        self.state.dequeue(
            rules,
            now,
            &mut self.fifo,
            &mut self.backlog,
            drops,
            &mut self.stats,
        )
    }
}

/// Which list a flow queue is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum List {
    None,
    New,
    Old,
}

#[derive(Debug)]
struct FlowQueue<T> {
    fifo: Fifo<T>,
    deficit: i64,
    codel: CoDelState,
    list: List,
}

/// FQ-CoDel (RFC 8290): packets hashed by 5-tuple into flow queues, each
/// under its own CoDel, served by deficit round robin that prefers
/// queues which have just become active (the new list) over the rest
/// (the old list).
#[derive(Debug)]
pub struct FqCoDel<T> {
    params: FqCoDelParams,
    mtu: u32,
    limit: QueueLimit,
    seed: u64,
    queues: Vec<FlowQueue<T>>,
    new_flows: VecDeque<usize>,
    old_flows: VecDeque<usize>,
    backlog: Backlog,
    stats: AqmStats,
}

impl<T> FqCoDel<T> {
    /// An empty scheduler; `seed` keys the flow hash, `mtu` is CoDel's
    /// MAXPACKET.
    pub fn new(params: FqCoDelParams, limit: QueueLimit, mtu: u32, seed: u64) -> FqCoDel<T> {
        let n = params.flows.max(1);
        FqCoDel {
            params,
            mtu,
            limit,
            seed,
            queues: (0..n)
                .map(|_| FlowQueue {
                    fifo: Fifo::default(),
                    deficit: 0,
                    codel: CoDelState::default(),
                    list: List::None,
                })
                .collect(),
            new_flows: VecDeque::new(),
            old_flows: VecDeque::new(),
            backlog: Backlog::default(),
            stats: AqmStats::default(),
        }
    }

    /// The queue a flow hashes to.
    pub fn queue_of(&self, flow: &FlowKey) -> usize {
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(&flow.bytes(), self.seed);
        (h % self.queues.len() as u64) as usize
    }

    /// Packets waiting in queue `i`.
    pub fn queue_len(&self, i: usize) -> usize {
        self.queues.get(i).map_or(0, |q| q.fifo.q.len())
    }

    /// Queues a packet in its flow's queue; a queue that was not active
    /// joins the new list with a quantum of credit. When the whole
    /// scheduler is then over its limit, packets are dropped from the
    /// head of the queue holding the most bytes until it is not (RFC 8290
    /// §4.1), and returned.
    pub fn enqueue(&mut self, now: Instant, item: T, info: PacketInfo, drops: &mut Vec<T>) {
        let i = self.queue_of(&info.flow);
        let q = &mut self.queues[i];
        q.fifo.bytes += u64::from(info.len);
        q.fifo.q.push_back(Entry {
            item,
            len: info.len,
            ect: info.ect,
            enqueued: now,
        });
        self.backlog.add(info.len);
        if q.list == List::None {
            q.list = List::New;
            q.deficit = i64::from(self.params.quantum);
            self.new_flows.push_back(i);
        }
        while self.backlog.over(self.limit) {
            // The fattest queue; the lowest index among equals.
            let Some(fat) = (0..self.queues.len())
                .max_by_key(|&j| (self.queues[j].fifo.bytes, std::cmp::Reverse(j)))
            else {
                break;
            };
            let q = &mut self.queues[fat];
            let Some(e) = q.fifo.q.pop_front() else { break };
            q.fifo.bytes -= u64::from(e.len);
            self.backlog.remove(e.len);
            self.stats.overflow_drops += 1;
            drops.push(e.item);
        }
    }

    /// The next packet to send (RFC 8290 §4.2): the first queue of the
    /// new list, else of the old list; a queue out of credit gets a
    /// quantum more and goes to the end of the old list; a queue that
    /// CoDel leaves empty leaves the new list for the end of the old
    /// one, or the old list altogether. CoDel's drops go onto `drops`.
    pub fn dequeue(&mut self, now: Instant, drops: &mut Vec<T>) -> Option<Dequeued<T>> {
        loop {
            let (i, new) = match (self.new_flows.front(), self.old_flows.front()) {
                (Some(&i), _) => (i, true),
                (None, Some(&i)) => (i, false),
                (None, None) => return None,
            };
            let q = &mut self.queues[i];
            if q.deficit <= 0 {
                q.deficit += i64::from(self.params.quantum);
                if new {
                    self.new_flows.pop_front();
                } else {
                    self.old_flows.pop_front();
                }
                q.list = List::Old;
                self.old_flows.push_back(i);
                continue;
            }
            let rules = Rules {
                p: self.params.codel,
                mtu: self.mtu,
            };
            let d = q.codel.dequeue(
                rules,
                now,
                &mut q.fifo,
                &mut self.backlog,
                drops,
                &mut self.stats,
            );
            match d {
                Some(d) => {
                    q.deficit -= i64::from(d.len);
                    return Some(d);
                }
                None => {
                    if new {
                        self.new_flows.pop_front();
                        // Moved to the old list, so a flow that empties
                        // and refills at once cannot stay in the new one.
                        q.list = List::Old;
                        self.old_flows.push_back(i);
                    } else {
                        self.old_flows.pop_front();
                        q.list = List::None;
                    }
                }
            }
        }
    }
}

/// An AQM discipline over items of type `T`.
#[derive(Debug)]
pub enum Qdisc<T> {
    /// CoDel.
    CoDel(CoDel<T>),
    /// FQ-CoDel.
    FqCoDel(FqCoDel<T>),
}

impl<T> Qdisc<T> {
    /// The discipline `aqm` names, or `None` for drop-tail (which the
    /// link does itself).
    pub fn new(aqm: Aqm, limit: QueueLimit, mtu: u32, seed: u64) -> Option<Qdisc<T>> {
        match aqm {
            Aqm::DropTail => None,
            Aqm::CoDel(p) => Some(Qdisc::CoDel(CoDel::new(p, limit, mtu))),
            Aqm::FqCoDel(p) => Some(Qdisc::FqCoDel(FqCoDel::new(p, limit, mtu, seed))),
        }
    }

    /// Queues a packet; what the queue drops to make room (the packet
    /// itself, for CoDel) goes onto `drops`.
    pub fn enqueue(&mut self, now: Instant, item: T, info: PacketInfo, drops: &mut Vec<T>) {
        match self {
            Qdisc::CoDel(q) => {
                if let Err(item) = q.enqueue(now, item, info) {
                    drops.push(item);
                }
            }
            Qdisc::FqCoDel(q) => q.enqueue(now, item, info, drops),
        }
    }

    /// The next packet to send; CoDel's drops go onto `drops`.
    pub fn dequeue(&mut self, now: Instant, drops: &mut Vec<T>) -> Option<Dequeued<T>> {
        match self {
            Qdisc::CoDel(q) => q.dequeue(now, drops),
            Qdisc::FqCoDel(q) => q.dequeue(now, drops),
        }
    }

    /// Replaces the limit (packets already queued stay).
    pub fn set_limit(&mut self, limit: QueueLimit) {
        match self {
            Qdisc::CoDel(q) => q.limit = limit,
            Qdisc::FqCoDel(q) => q.limit = limit,
        }
    }

    /// Bytes queued.
    pub fn bytes(&self) -> u64 {
        match self {
            Qdisc::CoDel(q) => q.backlog.bytes,
            Qdisc::FqCoDel(q) => q.backlog.bytes,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> AqmStats {
        match self {
            Qdisc::CoDel(q) => q.stats,
            Qdisc::FqCoDel(q) => q.stats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    fn info(len: u32) -> PacketInfo {
        PacketInfo {
            len,
            ..PacketInfo::default()
        }
    }

    fn codel(ecn: bool) -> CoDel<u32> {
        let p = CoDelParams {
            ecn,
            ..CoDelParams::default()
        };
        CoDel::new(p, QueueLimit::Packets(10_000), 1500)
    }

    /// Dequeues one packet every 10 ms over `from..=to` ms; returns the
    /// times of CoDel's drops (or marks) and how many packets were sent.
    fn drain_every_10ms(q: &mut CoDel<u32>, from: u64, to: u64) -> (Vec<u64>, usize) {
        let mut picks = Vec::new();
        let mut sent = 0;
        let mut t = from;
        while t <= to {
            let mut drops = Vec::new();
            let d = q.dequeue(ms(t), &mut drops);
            for _ in &drops {
                picks.push(t);
            }
            if let Some(d) = d {
                sent += 1;
                if d.mark_ce {
                    picks.push(t);
                }
            }
            t += 10;
        }
        (picks, sent)
    }

    fn fill(q: &mut CoDel<u32>, at: u64, n: u32, ect: bool) {
        for i in 0..n {
            let pi = PacketInfo { ect, ..info(1000) };
            q.enqueue(ms(at), i, pi).unwrap();
        }
    }

    #[test]
    fn codel_drop_times_follow_the_control_law() {
        // A standing queue enqueued at 0, one packet sent every 10 ms:
        // every sojourn is ≥ 10 ms, above TARGET from the first dequeue
        // (10 ms), so dropping may start at 10 + 100 = 110 ms; then
        // drops follow interval/√count: +100, +70.710, +57.735, +50 ms.
        let mut q = codel(false);
        fill(&mut q, 0, 100, false);
        let (drops, _) = drain_every_10ms(&mut q, 10, 400);
        assert_eq!(drops, [110, 210, 290, 340, 390]);
        let s = *q.state();
        assert!(s.dropping());
        assert_eq!(s.count(), 5);
        // 388.445 ms + 100/√5 ms (44.721).
        assert_eq!(s.drop_next(), Instant::from_micros(433_166));
        assert_eq!(q.stats.codel_drops, 5);
    }

    #[test]
    fn codel_leaves_the_dropping_state_and_carries_its_count_over() {
        let mut q = codel(false);
        fill(&mut q, 0, 100, false);
        drain_every_10ms(&mut q, 10, 400);
        // Drain the rest at once: with an MTU or less left behind, the
        // queue is not above TARGET, and dropping stops.
        let mut drops = Vec::new();
        while q.dequeue(ms(400), &mut drops).is_some() {}
        assert!(drops.is_empty());
        assert!(!q.state().dropping());
        // A new standing queue 100 ms later, above TARGET again at 610
        // ms: 176.8 ms after the last scheduled drop (< 16 intervals), so
        // the count resumes at count − lastcount = 5 − 1 = 4 and the next
        // drop comes 100/√4 = 50 ms later, then 100/√5 after that.
        fill(&mut q, 500, 100, false);
        let (drops, _) = drain_every_10ms(&mut q, 510, 720);
        assert_eq!(drops, [610, 660, 710]);
        assert_eq!(q.state().count(), 6);
        // 660 + 44.721 = 704.721, then + 100/√6 (40.824) = 745.545.
        assert_eq!(q.state().drop_next(), Instant::from_micros(745_545));
    }

    #[test]
    fn codel_starts_over_after_a_long_quiet_time() {
        let mut q = codel(false);
        fill(&mut q, 0, 100, false);
        drain_every_10ms(&mut q, 10, 400);
        let mut drops = Vec::new();
        while q.dequeue(ms(400), &mut drops).is_some() {}
        // Back above TARGET 16 intervals or more after the last drop was
        // due: count starts at 1 again, so the second drop is a whole
        // interval after the first.
        fill(&mut q, 3_000, 100, false);
        let (drops, _) = drain_every_10ms(&mut q, 3_010, 3_250);
        assert_eq!(drops, [3_110, 3_210]);
        assert_eq!(q.state().count(), 2);
    }

    #[test]
    fn codel_below_target_or_within_an_mtu_never_drops() {
        // Sojourn 4 ms < TARGET, for a long time.
        let mut q = codel(false);
        let mut drops = Vec::new();
        for t in 0..1_000u64 {
            q.enqueue(ms(t), t as u32, info(1000)).unwrap();
            q.enqueue(ms(t), t as u32, info(1000)).unwrap();
            if t >= 4 {
                // Two in, two out: the head waited 4 ms.
                q.dequeue(ms(t), &mut drops);
                q.dequeue(ms(t), &mut drops);
            }
        }
        assert!(drops.is_empty());
        // A single 1500-byte packet left waiting a long time: the queue
        // holds no more than an MTU, so it is not a standing queue.
        let mut q = codel(false);
        for t in 0..100u64 {
            q.enqueue(ms(t * 50), 0, info(1500)).unwrap();
            assert!(q.dequeue(ms(t * 50 + 40), &mut drops).is_some());
        }
        assert!(drops.is_empty());
        assert!(!q.state().dropping());
    }

    #[test]
    fn codel_marks_ect_packets_instead_of_dropping_them_when_ecn_is_on() {
        // The same schedule as the drop test: marks at the same times,
        // nothing dropped, every packet sent.
        let mut q = codel(true);
        fill(&mut q, 0, 100, true);
        let mut drops = Vec::new();
        let mut marks = Vec::new();
        let mut t = 10;
        while t <= 400 {
            let d = q.dequeue(ms(t), &mut drops).expect("a packet");
            if d.mark_ce {
                marks.push(t);
            }
            t += 10;
        }
        assert!(drops.is_empty());
        assert_eq!(marks, [110, 210, 290, 340, 390]);
        assert_eq!(q.stats.ecn_marks, 5);
        // Packets that are not ECN-capable are dropped even with ECN on.
        let mut q = codel(true);
        fill(&mut q, 0, 100, false);
        let (picks, _) = drain_every_10ms(&mut q, 10, 400);
        assert_eq!(picks, [110, 210, 290, 340, 390]);
        assert_eq!((q.stats.codel_drops, q.stats.ecn_marks), (5, 0));
    }

    #[test]
    fn codel_tail_drops_when_full() {
        let mut q = CoDel::new(CoDelParams::default(), QueueLimit::Packets(3), 1500);
        for i in 0..3 {
            q.enqueue(ms(0), i, info(100)).unwrap();
        }
        assert_eq!(q.enqueue(ms(0), 3, info(100)), Err(3));
        let mut q = CoDel::new(CoDelParams::default(), QueueLimit::Bytes(2500), 1500);
        q.enqueue(ms(0), 0, info(1500)).unwrap();
        assert_eq!(q.enqueue(ms(0), 1, info(1500)), Err(1));
        assert_eq!(q.stats.overflow_drops, 1);
    }

    fn flow(port: u16) -> FlowKey {
        FlowKey {
            src: [10, 1, 0, 1],
            dst: [10, 2, 0, 1],
            protocol: 6,
            src_port: port,
            dst_port: 5001,
        }
    }

    fn fq(limit: QueueLimit) -> FqCoDel<(u16, u32)> {
        FqCoDel::new(FqCoDelParams::default(), limit, 1500, 7)
    }

    fn pkt(f: u16, len: u32) -> PacketInfo {
        PacketInfo {
            len,
            ect: false,
            flow: flow(f),
        }
    }

    #[test]
    fn fq_codel_hashes_by_five_tuple_with_its_seed() {
        let a = fq(QueueLimit::Packets(100));
        assert_eq!(a.queue_of(&flow(1)), a.queue_of(&flow(1)));
        let b: FqCoDel<u8> =
            FqCoDel::new(FqCoDelParams::default(), QueueLimit::Packets(1), 1500, 8);
        // Another seed spreads 64 flows differently.
        let moved = (0..64).filter(|&p| a.queue_of(&flow(p)) != b.queue_of(&flow(p)));
        assert!(moved.count() > 32);
        let distinct: std::collections::BTreeSet<usize> =
            (0..64).map(|p| a.queue_of(&flow(p))).collect();
        assert!(distinct.len() > 56, "64 flows in {} queues", distinct.len());
    }

    #[test]
    fn fq_codel_serves_a_sparse_flow_before_a_bulk_backlog() {
        let mut q = fq(QueueLimit::Packets(10_000));
        assert_ne!(q.queue_of(&flow(1)), q.queue_of(&flow(2)));
        let mut drops = Vec::new();
        for i in 0..200 {
            q.enqueue(ms(0), (1, i), pkt(1, 1500), &mut drops);
        }
        // The bulk flow spends its first quantum (two packets: 1514 −
        // 1500 is still credit) and goes to the old list.
        let sent: Vec<_> = (0..3)
            .map(|_| q.dequeue(ms(1), &mut drops).unwrap().item)
            .collect();
        assert_eq!(sent, [(1, 0), (1, 1), (1, 2)]);
        // A packet of a new flow goes first, whatever the bulk backlog.
        q.enqueue(ms(2), (2, 0), pkt(2, 100), &mut drops);
        let d = q.dequeue(ms(2), &mut drops).unwrap();
        assert_eq!((d.item, d.sojourn), ((2, 0), Duration::ZERO));
        assert_eq!(q.dequeue(ms(3), &mut drops).unwrap().item, (1, 3));
        assert!(drops.is_empty());
    }

    #[test]
    fn fq_codel_shares_bytes_fairly_between_backlogged_flows() {
        let mut q = fq(QueueLimit::Packets(10_000));
        let mut drops = Vec::new();
        // Flow 1 sends 1500-byte packets, flow 2 500-byte ones.
        for i in 0..300 {
            q.enqueue(ms(0), (1, i), pkt(1, 1500), &mut drops);
            q.enqueue(ms(0), (2, i), pkt(2, 500), &mut drops);
        }
        let mut bytes = [0u64; 2];
        for _ in 0..200 {
            let d = q.dequeue(ms(1), &mut drops).unwrap();
            bytes[usize::from(d.item.0 - 1)] += u64::from(d.len);
        }
        let (a, b) = (bytes[0] as f64, bytes[1] as f64);
        assert!((a - b).abs() <= 3000.0, "bytes {bytes:?}");
    }

    #[test]
    fn fq_codel_drops_from_the_fattest_queue_when_full() {
        let mut q = fq(QueueLimit::Packets(10));
        let mut drops = Vec::new();
        for i in 0..9 {
            q.enqueue(ms(0), (1, i), pkt(1, 1500), &mut drops);
        }
        q.enqueue(ms(0), (2, 0), pkt(2, 100), &mut drops);
        assert!(drops.is_empty());
        // The eleventh packet, from the small flow, makes room at the
        // head of the big one.
        q.enqueue(ms(0), (2, 1), pkt(2, 100), &mut drops);
        assert_eq!(drops, [(1, 0)]);
        assert_eq!(q.stats.overflow_drops, 1);
        assert_eq!(q.queue_len(q.queue_of(&flow(2))), 2);
    }

    #[test]
    fn fq_codel_runs_codel_per_flow() {
        // One standing flow queue under the same schedule as the CoDel
        // test drops at the same times; a second flow sent alongside at
        // one packet per 10 ms, each dequeued at once, never is. The
        // standing flow's packets are a quantum each, so it sends one
        // per round.
        let mut q = fq(QueueLimit::Packets(10_000));
        let mut drops = Vec::new();
        for i in 0..100 {
            q.enqueue(ms(0), (1, i), pkt(1, 1514), &mut drops);
        }
        let mut at = Vec::new();
        let mut t = 10;
        while t <= 400 {
            let d = q.dequeue(ms(t), &mut drops).unwrap();
            assert_eq!(d.item.0, 1);
            at.extend(drops.drain(..).map(|_| t));
            q.enqueue(ms(t), (2, t as u32), pkt(2, 100), &mut drops);
            let d = q.dequeue(ms(t), &mut drops).unwrap();
            assert_eq!((d.item.0, d.sojourn), (2, Duration::ZERO));
            t += 10;
        }
        assert_eq!(at, [110, 210, 290, 340, 390]);
    }

    #[test]
    fn ecn_field_helpers() {
        let mut p = [0u8; 40];
        p[0] = 0x45;
        p[1] = 0b10; // ECT(0)
        p[9] = 6;
        assert!(ipv4_ect(&p));
        ipv4_mark_ce(&mut p);
        assert_eq!(p[1] & 0b11, 0b11);
        assert!(!ipv4_ect(&p));
        let sum: u32 = p[..20]
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!(folded, 0xffff, "header checksum verifies");
        ipv4_mark_ce(&mut p[..10]);
        assert_eq!(FlowKey::from_ipv4(&[1, 2, 3]), FlowKey::default());
    }
}
