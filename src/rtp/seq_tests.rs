//! Unit tests of seq.rs: RFC 3550 App. A.1 rules, wraparound, timestamp extension, duplicate window.

use super::*;

fn acc(ext: u64) -> SeqUpdate {
    SeqUpdate::Accepted { ext: SeqNo(ext) }
}

fn immediate() -> SequenceExtender {
    SequenceExtender::with_limits(0, DEFAULT_MAX_DROPOUT, DEFAULT_MAX_MISORDER)
}

#[test]
fn wrap_65535_to_0_extends_case_b03() {
    let mut s = immediate();
    let seqs: Vec<u16> = (65530..=65535).chain(0..=9).collect();
    let exts: Vec<SeqUpdate> = seqs.iter().map(|&q| s.update(q)).collect();
    let want: Vec<SeqUpdate> = (65530..=65545).map(acc).collect();
    assert_eq!(exts, want);
    assert_eq!(s.wraps(), 1);
    assert_eq!(s.highest(), Some(SeqNo(65545)));
    assert_eq!(s.base(), Some(SeqNo(65530)));
}

#[test]
fn default_probation_needs_two_sequential() {
    let mut s = SequenceExtender::new();
    assert_eq!(s.update(100), SeqUpdate::Probation);
    assert!(!s.is_valid());
    assert_eq!(s.highest(), None);
    assert_eq!(s.update(101), acc(101));
    assert!(s.is_valid());
    // init_seq at the end of probation: base is the validating packet.
    assert_eq!(s.base(), Some(SeqNo(101)));
    assert_eq!(s.update(102), acc(102));
}

#[test]
fn probation_restarts_on_a_gap() {
    let mut s = SequenceExtender::new();
    assert_eq!(s.update(100), SeqUpdate::Probation);
    assert_eq!(s.update(200), SeqUpdate::Probation);
    assert_eq!(s.update(202), SeqUpdate::Probation);
    assert_eq!(s.update(203), acc(203));
}

#[test]
fn probation_across_the_wrap_is_sequential() {
    let mut s = SequenceExtender::new();
    assert_eq!(s.update(65535), SeqUpdate::Probation);
    assert_eq!(s.update(0), acc(0));
    assert_eq!(s.update(1), acc(1));
}

#[test]
fn min_sequential_three() {
    let mut s = SequenceExtender::with_limits(3, 3000, 100);
    assert_eq!(s.update(10), SeqUpdate::Probation);
    assert_eq!(s.update(11), SeqUpdate::Probation);
    assert_eq!(s.update(12), acc(12));
}

#[test]
fn immediate_acceptance_of_seq_zero_counts_no_cycle() {
    for min in [0, 1] {
        let mut s = SequenceExtender::with_limits(min, 3000, 100);
        assert_eq!(s.update(0), acc(0));
        assert_eq!(s.update(1), acc(1));
        assert_eq!(s.wraps(), 0);
    }
}

#[test]
fn reordered_packets_use_their_own_cycle() {
    let mut s = immediate();
    for q in [65534, 65535, 0] {
        s.update(q);
    }
    assert_eq!(s.update(1), acc(65537));
    // Late packets from before the wrap keep cycle 0.
    assert_eq!(s.update(65533), acc(65533));
    // Duplicate of the one after the wrap keeps cycle 1.
    assert_eq!(s.update(0), acc(65536));
    // The task's example: highest 65537, late 65535 -> 65535, not 131071.
    assert_eq!(s.update(65535), acc(65535));
    assert_eq!(s.highest(), Some(SeqNo(65537)));
    assert_eq!(s.update(2), acc(65538));
}

#[test]
fn late_packet_before_cycle_zero() {
    let mut s = immediate();
    assert_eq!(s.update(2), acc(2));
    assert_eq!(s.update(65535), SeqUpdate::PrecedesStart);
    assert_eq!(s.update(1), acc(1));
    assert_eq!(s.update(3), acc(3));
}

#[test]
fn max_dropout_and_max_misorder_bounds() {
    let mut s = immediate();
    assert_eq!(s.update(1000), acc(1000));
    assert_eq!(s.update(1000 + 2999), acc(3999));
    assert_eq!(s.update(3999 + 3000), SeqUpdate::BadSequence);
    // 99 behind is reordered, 100 behind is a bad sequence number.
    assert_eq!(s.update(3999 - 99), acc(3900));
    assert_eq!(s.update(3999 - 100), SeqUpdate::BadSequence);
    assert_eq!(s.highest(), Some(SeqNo(3999)));
}

#[test]
fn two_sequential_after_a_jump_restart() {
    let mut s = immediate();
    assert_eq!(s.update(1000), acc(1000));
    assert_eq!(s.update(50000), SeqUpdate::BadSequence);
    assert_eq!(s.update(50005), SeqUpdate::BadSequence);
    assert_eq!(s.update(50006), SeqUpdate::Restarted { ext: SeqNo(50006) });
    assert_eq!(s.base(), Some(SeqNo(50006)));
    assert_eq!(s.update(50007), acc(50007));
    // Restart to a lower number wrapping later counts cycles from 0 again.
    assert_eq!(s.update(40), SeqUpdate::BadSequence);
    assert_eq!(s.update(41), SeqUpdate::Restarted { ext: SeqNo(41) });
    assert_eq!(s.wraps(), 0);
}

#[test]
fn restart_after_wraps_resets_cycles() {
    let mut s = immediate();
    let mut q: u16 = 60000;
    for _ in 0..80000 {
        s.update(q);
        q = q.wrapping_add(1);
    }
    assert_eq!(s.wraps(), 2);
    let far = q.wrapping_add(20000);
    assert_eq!(s.update(far), SeqUpdate::BadSequence);
    assert_eq!(s.update(far.wrapping_add(1)), SeqUpdate::Restarted { ext: SeqNo(u64::from(far) + 1) });
}

#[test]
fn classify_late_does_not_change_state() {
    let mut s = immediate();
    assert_eq!(s.classify_late(5), None);
    s.update(1);
    s.update(2);
    assert_eq!(s.classify_late(2), Some(SeqNo(2)));
    assert_eq!(s.classify_late(1), Some(SeqNo(1)));
    assert_eq!(s.classify_late(3), None);
    assert_eq!(s.classify_late(65535), None); // would precede cycle 0
    assert_eq!(s.highest(), Some(SeqNo(2)));
}

#[test]
fn limits_are_capped() {
    let mut s = SequenceExtender::with_limits(0, u16::MAX, u16::MAX);
    assert_eq!(s.update(5000), acc(5000));
    // MAX_MISORDER capped at 1024, MAX_DROPOUT at 65536 - 1024.
    assert_eq!(s.update(5000 - 1023), acc(3977));
    assert_eq!(s.update(5000 - 1024), SeqUpdate::BadSequence);
    // 64511 ahead (wire 3975 after the wrap) is still in order.
    assert_eq!(s.update(3975), acc(65536 + 3975));
}

#[test]
fn timestamps_wrap_case_b05() {
    let mut t = TimestampExtender::new();
    let mut ts: u32 = 4_294_966_816;
    let mut exts = Vec::new();
    for _ in 0..6 {
        exts.push(t.extend(ts).0);
        ts = ts.wrapping_add(160);
    }
    let first = TimestampExtender::FIRST_CYCLE + 4_294_966_816;
    assert_eq!(exts, (0..6).map(|k| first + 160 * k).collect::<Vec<_>>());
    assert_eq!(t.highest().map(|e| e.wire()), Some(320));
}

#[test]
fn timestamp_reorder_is_signed_not_a_wrap() {
    let mut t = TimestampExtender::new();
    let a = t.extend(1000).0;
    let b = t.extend(1320).0;
    assert_eq!(t.delta(1160), Some(-160));
    let c = t.extend(1160).0;
    assert_eq!((b as i64 - a as i64, c as i64 - b as i64), (320, -160));
    assert_eq!(t.highest(), Some(ExtTimestamp(b)));
    // Reorder across the wrap: 0 arrives before 4294967136.
    let mut t = TimestampExtender::new();
    let z = t.extend(0).0;
    let late = t.extend(4_294_967_136).0;
    assert_eq!(z - late, 160);
    assert_eq!(ExtTimestamp(late).wire(), 4_294_967_136);
}

#[test]
fn timestamp_survives_several_wraps() {
    let mut t = TimestampExtender::new();
    let mut ts: u32 = 3_000_000_000;
    let start = t.extend(ts).0;
    for k in 1..=20u64 {
        ts = ts.wrapping_add(1 << 30);
        assert_eq!(t.extend(ts).0, start + k * (1 << 30));
    }
}

#[test]
fn window_detects_duplicates_and_reorder() {
    let mut w = SeqWindow::new();
    assert_eq!(w.insert(SeqNo(10)), WindowCheck::New { reordered: false });
    assert_eq!(w.insert(SeqNo(12)), WindowCheck::New { reordered: false });
    assert_eq!(w.insert(SeqNo(11)), WindowCheck::New { reordered: true });
    assert_eq!(w.insert(SeqNo(11)), WindowCheck::Duplicate);
    assert_eq!(w.insert(SeqNo(12)), WindowCheck::Duplicate);
    // Advance by exactly the width: 12 falls out, slots in between were cleared.
    assert_eq!(w.insert(SeqNo(12 + 1024)), WindowCheck::New { reordered: false });
    assert_eq!(w.insert(SeqNo(12)), WindowCheck::TooOld);
    assert_eq!(w.insert(SeqNo(13)), WindowCheck::New { reordered: true });
    assert_eq!(w.insert(SeqNo(500)), WindowCheck::New { reordered: true });
    // Far jump clears everything.
    assert_eq!(w.insert(SeqNo(100_000)), WindowCheck::New { reordered: false });
    assert_eq!(w.insert(SeqNo(100_000 - 1024 + 13)), WindowCheck::New { reordered: true });
}
