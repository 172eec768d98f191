//! The fuzz corpora (`fuzz/corpus/<target>/`, seeded from the real payloads in
//! `tests/fixtures/` and grown by `scripts/fuzz.sh`) replayed in the normal suite through the
//! same entry points as the fuzz targets: no input may panic, a frame that is not JSON never
//! yields an observation, and broken input comes back as an error, not as silence.

use connectors::fuzzing::{
    capture_text, parser_count, parser_name, venue_frames, Outcome, FRAME_SEPARATOR,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_venue_frame_corpus_input_runs_without_panic_or_silent_garbage() {
    // The committed corpus (inputs the fuzzer found) and the seeds, rebuilt from the fixtures.
    let mut inputs: Vec<(String, Vec<u8>)> = corpus("venue_frame")
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    let found = inputs.len();
    inputs.extend(seeds());
    println!("{found} corpus inputs, {} seeds", inputs.len() - found);
    assert!(found > 0, "no committed corpus inputs");
    let mut per_parser: BTreeMap<String, Outcome> = BTreeMap::new();
    for (name, data) in &inputs {
        let out = venue_frames(data);
        assert_eq!(out.from_non_json, 0, "{name}: observations from non-JSON");
        if let Some(&sel) = data.first() {
            let o = per_parser.entry(parser_name(sel as usize)).or_default();
            o.accepted += out.accepted;
            o.refused += out.refused;
            o.observations += out.observations;
        }
    }
    for (name, o) in &per_parser {
        println!(
            "{name}: {} frames accepted, {} refused, {} observations",
            o.accepted, o.refused, o.observations
        );
    }
    // Every parser is reached by the corpus, and real payloads give observations. (Some
    // parsers have no fixture that yields one: Binance spot's fixtures quote symbols outside
    // the sample table, some custodians' fixtures are documentation placeholders.)
    assert_eq!(per_parser.len(), parser_count(), "{:?}", per_parser.keys());
    for (name, o) in &per_parser {
        assert!(
            o.accepted + o.refused >= 3,
            "{name}: reached by too few inputs: {o:?}"
        );
    }
    let with_observations = per_parser.values().filter(|o| o.observations > 0).count();
    assert!(
        with_observations * 3 >= parser_count() * 2,
        "{per_parser:?}"
    );
}

#[test]
fn every_capture_corpus_input_runs_without_panic() {
    let files = corpus("capture");
    assert!(!files.is_empty());
    let mut total = Outcome::default();
    for f in &files {
        let out = capture_text(&std::fs::read(f).unwrap());
        assert_eq!(out.from_non_json, 0, "{}", f.display());
        total.accepted += out.accepted;
        total.refused += out.refused;
        total.observations += out.observations;
    }
    println!("capture corpus: {} files, {total:?}", files.len());
    assert!(total.observations > 0 && total.refused > 0, "{total:?}");
}

/// Broken input is an error for every parser: truncated, empty, a scalar, deep nesting, and
/// numbers no decimal holds.
#[test]
fn broken_frames_are_errors_for_every_parser() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let broken = [
        "",
        "{",
        "{\"a\":",
        "[1, 2,",
        "\"unterminated",
        deep.as_str(),
    ];
    let odd = [
        "null",
        "0",
        "[]",
        "{}",
        r#"{"data":[{"bidPx":"1e999999","askPx":"-0","ts":"99999999999999999999"}]}"#,
        r#"[0,[1e400,2,3,4,5,6,7,8,9,10]]"#,
    ];
    for i in 0..parser_count() {
        for frame in broken {
            let mut data = vec![i as u8];
            data.extend_from_slice(frame.as_bytes());
            let out = venue_frames(&data);
            assert_eq!(
                (out.accepted, out.observations),
                (0, 0),
                "{}: {frame:.40?} was not refused",
                parser_name(i)
            );
        }
        for frame in odd {
            let mut data = vec![i as u8];
            data.extend_from_slice(frame.as_bytes());
            let out = venue_frames(&data);
            assert_eq!(out.accepted + out.refused, 1, "{}: {frame}", parser_name(i));
        }
    }
    assert_eq!(capture_text(b"{\"connector\":").refused, 1);
}

/// Seeds from the real payloads in `tests/fixtures/`: each fixture prefixed with the selector
/// of every parser it belongs to, and per parser all of them in turn on one connection.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names: Vec<String> = (0..parser_count()).map(parser_name).collect();
    let mut seeds = Vec::new();
    let mut sequences: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/fixtures"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|d| d.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let kind = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let fname = f.file_name().unwrap().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            if !fname.ends_with(".json") || text.len() > 60_000 {
                continue;
            }
            let targets = names.iter().enumerate().filter(|(_, n)| {
                // Private balance-stream payloads (and their acks) feed the stream parser.
                let private = ["_private", "ws_user_", "ws_v2_balances"]
                    .iter()
                    .any(|m| fname.contains(m))
                    && !fname.starts_with("rest");
                if private {
                    n.as_str() == format!("ws-balances:{kind}")
                } else if fname.starts_with("rest") || fname.contains("_rest_") {
                    n.as_str() == format!("rest:{kind}")
                } else {
                    n.strip_prefix("stream:")
                        .is_some_and(|k| k == kind || (kind == "bybit" && k.starts_with("bybit_")))
                }
            });
            for (i, name) in targets {
                let seq = sequences.entry(i).or_insert_with(|| vec![i as u8]);
                if seq.len() > 1 {
                    seq.extend_from_slice(FRAME_SEPARATOR.to_string().as_bytes());
                }
                seq.extend_from_slice(text.as_bytes());
                let mut data = vec![i as u8];
                data.extend_from_slice(text.as_bytes());
                seeds.push((
                    format!("seed-{}-{kind}-{fname}", name.replace(':', "_")),
                    data,
                ));
            }
        }
    }
    for (i, data) in sequences {
        seeds.push((
            format!("seed-{}-sequence", names[i].replace(':', "_")),
            data,
        ));
    }
    seeds
}

/// Writes the seeds into the corpus for `scripts/fuzz.sh` (git-ignored: the fixtures are the
/// source): `cargo test -p connectors --test fuzz_corpus -- --ignored write_seed_corpus`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/venue_frame");
    std::fs::create_dir_all(&out).unwrap();
    let seeds = seeds();
    for (name, data) in &seeds {
        std::fs::write(out.join(name), data).unwrap();
    }
    println!("wrote {} seeds", seeds.len());
}
