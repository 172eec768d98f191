//! The audit log: worked examples A1 and A2, restarts, torn tails, checkpoints, signatures and
//! every way of tampering that `verify` must catch.

use super::chain::{self, Checkpoint, GENESIS};
use super::verify::{verify, Break, Summary};
use super::AuditLog;
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use schemas::records::{FeedState, FeedStatus, FeedStatusSchema};
use schemas::{Record, Ts};
use std::path::Path;

const A1: [&[u8]; 3] = [
    br#"{"account":"fund-a","seq":1,"cv":"8670025.78"}"#,
    br#"{"account":"fund-a","seq":2,"cv":"8671100.00"}"#,
    br#"{"account":"fund-a","seq":3,"cv":"8669000.50"}"#,
];

#[test]
fn a1_chain_hashes() {
    let mut prev = GENESIS;
    let mut hashes = Vec::new();
    for r in A1 {
        prev = chain::chain_hash(&prev, r);
        hashes.push(hex::encode(prev));
    }
    assert_eq!(
        hashes,
        [
            "62275d3e9e9fed36e91dcedb0a60addaa2613ed245d5631afee097aa6b931a40",
            "f0b379fa1d77fc9a01b8fd14960c0ced6eff584a551dd53d863c0e961578cfb1",
            "27f546011d6905598d26fbcee148e711a6292611116d979885226508a696b9e1",
        ]
    );
}

#[test]
fn a2_merkle_root() {
    let leaves: Vec<_> = A1.iter().map(|r| chain::leaf_hash(r)).collect();
    assert_eq!(
        hex::encode(chain::merkle_root(&leaves)),
        "76f731ecc5b1495517da397ee3b8ae833961e2498c4732b8324b583f582d1509"
    );
}

#[test]
fn rfc6962_small_trees() {
    // The empty tree is SHA-256(""); one leaf is its leaf hash; two leaves one node.
    assert_eq!(
        hex::encode(chain::merkle_root(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let l = [chain::leaf_hash(b"a"), chain::leaf_hash(b"b")];
    assert_eq!(chain::merkle_root(&l[..1]), l[0]);
    let mut node = vec![1u8];
    node.extend_from_slice(&l[0]);
    node.extend_from_slice(&l[1]);
    assert_eq!(
        chain::merkle_root(&l),
        <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(&node))
    );
}

#[test]
fn record_line_round_trips_and_rejects_other_spellings() {
    let h = chain::chain_hash(&GENESIS, A1[0]);
    let mut line = Vec::new();
    chain::write_record_line(1, &GENESIS, &h, A1[0], &mut line);
    let expected = format!(
        "{{\"n\":1,\"prev\":\"{}\",\"hash\":\"{}\",\"record\":{}}}\n",
        "0".repeat(64),
        hex::encode(h),
        std::str::from_utf8(A1[0]).unwrap()
    );
    assert_eq!(String::from_utf8(line.clone()).unwrap(), expected);
    let parsed = chain::parse_record_line(&line[..line.len() - 1]).unwrap();
    assert_eq!((parsed.n, parsed.prev, parsed.hash), (1, GENESIS, h));
    assert_eq!(parsed.record, A1[0]);
    let spaced = String::from_utf8(line)
        .unwrap()
        .replace("\"n\":1", "\"n\": 1");
    assert!(chain::parse_record_line(spaced.trim_end().as_bytes()).is_none());
}

fn status(i: u64) -> Record {
    Record::FeedStatus(FeedStatus {
        schema: FeedStatusSchema,
        connector: "binance-spot".into(),
        venue: "binance".into(),
        stream: format!("ticker:BTC-USDT-{i}"),
        state: FeedState::Live,
        epoch: i,
        since: Ts::from_micros(1_764_000_000_000_000 + i as i64),
        last_data_at: None,
        reason: None,
    })
}

/// 2026-12-04T23:59:00Z.
const T0: i64 = 1_796_428_740_000_000;
const MIN: i64 = 60_000_000;

fn at(minutes: i64) -> Ts {
    Ts::from_micros(T0 + minutes * MIN)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// A log over two days with an hourly checkpoint, a restart and a shutdown checkpoint:
/// records 1-2 on 12-04, the midnight checkpoint, 3-4 on 12-05, a restart, 5, shutdown.
fn sample_log(dir: &Path, signed: bool) {
    let k = || signed.then(key);
    let mut log = AuditLog::open(dir, k(), at(0)).unwrap();
    log.append(&[status(1), status(2)], at(0)).unwrap();
    log.append(&[status(3)], at(2)).unwrap();
    log.append(&[status(4)], at(3)).unwrap();
    log.close(at(4)).unwrap();
    drop(log);
    let mut log = AuditLog::open(dir, k(), at(10)).unwrap();
    log.append(&[status(5)], at(10)).unwrap();
    log.close(at(11)).unwrap();
}

#[test]
fn days_checkpoints_and_restart_continue_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    sample_log(dir.path(), false);
    let d1 = lines(&dir.path().join("2026-12-04.jsonl"));
    let d2 = lines(&dir.path().join("2026-12-05.jsonl"));
    assert_eq!(d1.len(), 3, "{d1:?}");
    assert!(d1[0].starts_with("{\"n\":1,\"prev\":\"0000"));
    assert!(d1[1].starts_with("{\"n\":2,"));
    // The clock went into a new hour (and day) at record 3: the checkpoint of 1-2 goes to the
    // file of record 2, dated by the clock that found it due.
    let cp = Checkpoint::parse(d1[2].as_bytes()).unwrap();
    assert_eq!((cp.from_n, cp.to_n, cp.tree_size), (1, 2, 2));
    assert_eq!(cp.at, "2026-12-05T00:01:00.000000Z");
    assert_eq!(cp.signature, None);
    assert_eq!(d2.len(), 5, "{d2:?}");
    let cp = Checkpoint::parse(d2[2].as_bytes()).unwrap();
    assert_eq!(
        (cp.from_n, cp.to_n, cp.at.as_str()),
        (3, 4, "2026-12-05T00:03:00.000000Z")
    );
    let r5 = chain::parse_record_line(d2[3].as_bytes()).unwrap();
    let r4 = chain::parse_record_line(d2[1].as_bytes()).unwrap();
    assert_eq!((r5.n, r5.prev), (5, r4.hash));
    let cp = Checkpoint::parse(d2[4].as_bytes()).unwrap();
    assert_eq!((cp.from_n, cp.to_n), (5, 5));
    let leaf = chain::leaf_hash(r5.record);
    assert_eq!(cp.root, hex::encode(leaf));
    assert_eq!(cp.head, hex::encode(r5.hash));
    assert_eq!(
        verify(dir.path(), None).unwrap(),
        Ok(Summary {
            files: 2,
            records: 5,
            checkpoints: 3,
            ..Default::default()
        })
    );
}

#[test]
fn records_are_logged_as_published() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), None, at(0)).unwrap();
    log.append(&[status(1)], at(0)).unwrap();
    let line = &lines(&dir.path().join("2026-12-04.jsonl"))[0];
    let rec = chain::parse_record_line(line.as_bytes()).unwrap();
    assert_eq!(rec.record, status(1).to_json().as_bytes());
    assert_eq!(log.head(), (1, chain::chain_hash(&GENESIS, rec.record)));
}

#[test]
fn a_crash_leaves_records_that_get_their_checkpoint_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), None, at(0)).unwrap();
    log.append(&[status(1), status(2)], at(0)).unwrap();
    drop(log); // no close: a crash
    let log = AuditLog::open(dir.path(), None, at(5)).unwrap();
    assert_eq!(log.head().0, 2);
    let l = lines(&dir.path().join("2026-12-04.jsonl"));
    let cp = Checkpoint::parse(l[2].as_bytes()).unwrap();
    assert_eq!(
        (cp.from_n, cp.to_n, cp.at.as_str()),
        (1, 2, "2026-12-05T00:04:00.000000Z")
    );
    assert!(verify(dir.path(), None).unwrap().is_ok());
}

#[test]
fn a_torn_last_line_is_moved_aside_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), None, at(0)).unwrap();
    log.append(&[status(1), status(2)], at(0)).unwrap();
    drop(log);
    let file = dir.path().join("2026-12-04.jsonl");
    let whole = std::fs::read(&file).unwrap();
    let torn = br#"{"n":3,"prev":"ab"#;
    std::fs::write(&file, [whole.as_slice(), torn].concat()).unwrap();
    assert_eq!(
        verify(dir.path(), None).unwrap().unwrap_err().line,
        3,
        "verify names the torn line"
    );
    let half_a_minute = Ts::from_micros(T0 + MIN / 2);
    // A reader of a running log (statements) leaves the line being written out.
    let s = super::verify::verify_running(dir.path(), None)
        .unwrap()
        .unwrap();
    assert_eq!((s.records, s.unanchored), (2, 2));
    let mut log = AuditLog::open(dir.path(), None, half_a_minute).unwrap();
    let moved = dir.path().join("2026-12-04.jsonl.torn");
    assert_eq!(log.torn(), Some(moved.as_path()));
    assert_eq!(std::fs::read(&moved).unwrap(), torn);
    log.append(&[status(3)], half_a_minute).unwrap();
    let l = lines(&file);
    assert_eq!(l.len(), 4, "{l:?}"); // 1, 2, the start's checkpoint, 3
    assert_eq!(chain::parse_record_line(l[3].as_bytes()).unwrap().n, 3);
    let s = verify(dir.path(), None).unwrap().unwrap();
    assert_eq!((s.records, s.unanchored, s.torn_files), (3, 1, vec![moved]));
}

#[test]
fn an_altered_last_line_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), None, at(0)).unwrap();
    log.append(&[status(1)], at(0)).unwrap();
    drop(log);
    let file = dir.path().join("2026-12-04.jsonl");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("LIVE", "DOWN");
    std::fs::write(&file, text).unwrap();
    let e = AuditLog::open(dir.path(), None, at(1)).unwrap_err();
    assert!(
        matches!(e, super::AuditError::Corrupt { line: 1, .. }),
        "{e}"
    );
}

fn signed_log() -> (tempfile::TempDir, ed25519_dalek::VerifyingKey) {
    let dir = tempfile::tempdir().unwrap();
    sample_log(dir.path(), true);
    (dir, key().verifying_key())
}

#[test]
fn signed_checkpoints_verify_with_the_public_key_only() {
    let (dir, pk) = signed_log();
    let s = verify(dir.path(), Some(&pk)).unwrap().unwrap();
    assert_eq!((s.checkpoints, s.signatures_verified), (3, 3));
    let s = verify(dir.path(), None).unwrap().unwrap();
    assert_eq!(s.signatures_unchecked, 3);
    let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
    let b = verify(dir.path(), Some(&other)).unwrap().unwrap_err();
    assert_eq!(
        (b.file.file_name().unwrap().to_str().unwrap(), b.line),
        ("2026-12-04.jsonl", 3)
    );
    assert!(b.reason.contains("signature"), "{b}");
}

#[test]
fn keys_load_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
    std::fs::write(&sk, key().to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    let pub_pem = key()
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(&pk, pub_pem).unwrap();
    let loaded = chain::sign::load_signing_key(&sk).unwrap();
    assert_eq!(loaded.to_bytes(), key().to_bytes());
    let vk = chain::sign::load_verifying_key(&pk).unwrap();
    assert_eq!(vk, key().verifying_key());
    // A public key is no private key; the error names the file, not the bytes.
    let e = chain::sign::load_signing_key(&pk).unwrap_err().to_string();
    assert!(e.contains("k.pub.pem") && !e.contains("BEGIN"), "{e}");
}

/// Rewrites one day file's lines with `f` and returns the first break.
fn tamper(dir: &Path, day: &str, f: impl FnOnce(&mut Vec<String>)) -> Break {
    let path = dir.join(format!("2026-12-{day}.jsonl"));
    let mut l = lines(&path);
    f(&mut l);
    std::fs::write(
        &path,
        l.iter().map(|x| format!("{x}\n")).collect::<String>(),
    )
    .unwrap();
    verify(dir, Some(&key().verifying_key()))
        .unwrap()
        .unwrap_err()
}

fn where_(b: &Break) -> (String, usize) {
    (
        b.file.file_name().unwrap().to_str().unwrap().to_owned(),
        b.line,
    )
}

/// What is done, to which day's file, and the line and reason expected.
type TamperCase = (
    &'static str,
    &'static str,
    Box<dyn FnOnce(&mut Vec<String>)>,
    usize,
    &'static str,
);

#[test]
fn tampering_is_found_at_its_line() {
    // d1: 1, 2, cp(1-2); d2: 3, 4, cp(3-4), 5, cp(5).
    let cases: Vec<TamperCase> = vec![
        (
            "changed record",
            "05",
            Box::new(|l| l[1] = l[1].replace("LIVE", "DOWN")),
            2,
            "changed",
        ),
        (
            "removed line",
            "05",
            Box::new(|l| {
                l.remove(0);
            }),
            1,
            "n is 4",
        ),
        (
            "inserted line",
            "05",
            Box::new(|l| {
                let x = l[0].clone();
                l.insert(1, x);
            }),
            2,
            "n is 3",
        ),
        (
            "swapped lines",
            "05",
            Box::new(|l| l.swap(0, 1)),
            1,
            "n is 4",
        ),
        (
            "checkpoint root",
            "04",
            Box::new(|l| {
                let cp = Checkpoint::parse(l[2].as_bytes()).unwrap();
                l[2] = l[2].replace(&cp.root, &"0".repeat(64));
            }),
            3,
            "root",
        ),
        (
            "bad signature",
            "05",
            Box::new(|l| {
                let cp = Checkpoint::parse(l[4].as_bytes()).unwrap();
                let sig = cp.signature.unwrap();
                let flipped = format!(
                    "{}{}",
                    if sig.starts_with('0') { "1" } else { "0" },
                    &sig[1..]
                );
                l[4] = l[4].replace(&sig, &flipped);
            }),
            5,
            "signature",
        ),
        (
            "removed checkpoint",
            "04",
            Box::new(|l| {
                l.pop();
            }),
            3,
            "covers 3..=4",
        ),
    ];
    for (what, day, f, line, reason) in cases {
        let (dir, _) = signed_log();
        let b = tamper(dir.path(), day, f);
        let file = format!(
            "2026-12-{}.jsonl",
            if what == "removed checkpoint" {
                "05"
            } else {
                day
            }
        );
        assert_eq!(where_(&b), (file, line), "{what}: {b}");
        assert!(b.reason.contains(reason), "{what}: {b}");
    }
}

#[test]
fn a_torn_line_and_a_removed_file_are_found() {
    let (dir, pk) = signed_log();
    let d2 = dir.path().join("2026-12-05.jsonl");
    let bytes = std::fs::read(&d2).unwrap();
    std::fs::write(&d2, &bytes[..bytes.len() - 10]).unwrap();
    let b = verify(dir.path(), Some(&pk)).unwrap().unwrap_err();
    assert_eq!(where_(&b), ("2026-12-05.jsonl".into(), 5));
    assert!(b.reason.contains("torn"), "{b}");

    // A file removed from the middle of the chain: the next file does not follow.
    let (dir, pk) = signed_log();
    let mut log = AuditLog::open(dir.path(), Some(key()), at(24 * 60 + 2)).unwrap();
    log.append(&[status(6)], at(24 * 60 + 2)).unwrap();
    log.close(at(24 * 60 + 3)).unwrap();
    assert!(verify(dir.path(), Some(&pk)).unwrap().is_ok());
    std::fs::remove_file(dir.path().join("2026-12-05.jsonl")).unwrap();
    let b = verify(dir.path(), Some(&pk)).unwrap().unwrap_err();
    assert_eq!(where_(&b), ("2026-12-06.jsonl".into(), 1));
    assert!(b.reason.contains("n is 6 where 3 follows 2"), "{b}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Reading a file from its end in chunks of any size gives its lines, last first.
    #[test]
    fn lines_from_the_end_in_any_chunk_size(
        lines in prop::collection::vec("[a-z]{1,9}", 0..8),
        chunk in 1u64..24,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        let mut seen = Vec::new();
        let stopped = super::lines_from_end_by(&path, chunk, |l, back| {
            seen.push((String::from_utf8(l.to_vec()).unwrap(), back));
            Ok(true)
        })
        .unwrap();
        prop_assert!(!stopped);
        let expected: Vec<(String, usize)> =
            lines.iter().rev().cloned().zip(1..).collect();
        prop_assert_eq!(seen, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any split of records into batches, clock steps and restarts gives one chain that
    /// verifies, with every record once, in order.
    #[test]
    fn any_history_verifies(steps in prop::collection::vec((1usize..4, 0i64..90, any::<bool>()), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let mut clock = 0;
        let mut log = AuditLog::open(dir.path(), Some(key()), at(clock)).unwrap();
        let mut n = 0u64;
        for (batch, advance, restart) in steps {
            clock += advance;
            if restart {
                drop(log);
                log = AuditLog::open(dir.path(), Some(key()), at(clock)).unwrap();
            }
            let recs: Vec<Record> = (0..batch).map(|i| status(n + i as u64 + 1)).collect();
            log.append(&recs, at(clock)).unwrap();
            n += batch as u64;
        }
        log.close(at(clock)).unwrap();
        let s = verify(dir.path(), Some(&key().verifying_key())).unwrap().unwrap();
        prop_assert_eq!(s.records, n);
        prop_assert_eq!(s.unanchored, 0);
        prop_assert_eq!(log.head().0, n);
    }
}
