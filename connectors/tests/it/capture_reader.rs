//! `CaptureReader` (the allocation-free scanner with its serde_json fallback) against
//! `read_lines` (serde_json for every line): the same lines, the same errors, the same numbers.

use connectors::capture::{read_lines, CaptureLine, CaptureReader};
use proptest::prelude::*;
use schemas::Ts;
use std::io::Write;

type Read = Vec<Result<CaptureLine, (usize, String)>>;

fn both(text: &[u8]) -> (Read, Read) {
    let mut f = tempfile_in_target();
    f.1.write_all(text).unwrap();
    f.1.flush().unwrap();
    let serde: Read = read_lines(&f.0).unwrap().collect();
    let mut r = CaptureReader::new(std::io::BufReader::new(text));
    let mut ours = Vec::new();
    while let Some(l) = r.next() {
        ours.push(l.map(|c| c.into_owned()));
    }
    std::fs::remove_file(&f.0).unwrap();
    (ours, serde)
}

fn tempfile_in_target() -> (std::path::PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "capture-reader-{}-{}.jsonl",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&path).unwrap();
    (path, f)
}

fn line(connector: &str, channel: &str, frame: &str, epoch: u64) -> String {
    serde_json::to_string(&CaptureLine {
        connector: connector.into(),
        venue: "binance".into(),
        received_at: Ts::parse_rfc3339("2025-11-18T11:06:39.000010Z").unwrap(),
        channel: channel.into(),
        frame: frame.into(),
        epoch,
    })
    .unwrap()
}

/// Every fixture file's text as a frame (JSON with escapes, newlines, Unicode).
fn fixture_frames() -> Vec<String> {
    let mut out = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
    out
}

#[test]
fn fixture_frames_read_the_same_and_take_the_fast_path() {
    let frames = fixture_frames();
    assert!(frames.len() > 50, "{} fixture files", frames.len());
    let mut text = String::new();
    for (i, f) in frames.iter().enumerate() {
        text += &line("binance-spot", "ws", f, i as u64);
        text += "\n";
    }
    let (ours, serde) = both(text.as_bytes());
    assert_eq!(ours.len(), frames.len());
    assert!(ours.iter().all(|l| l.is_ok()));
    assert_eq!(ours, serde);
    // The frames come back exactly, borrowed or unescaped.
    for (l, f) in ours.iter().zip(&frames) {
        assert_eq!(&l.as_ref().unwrap().frame, f);
    }
    // Every line whose frame needs no `\u` escape takes the scanner (its ids are borrowed).
    let mut r = CaptureReader::new(std::io::BufReader::new(text.as_bytes()));
    let mut fast = 0;
    for f in &frames {
        let l = r.next().unwrap().unwrap();
        let borrowed = matches!(l.connector, std::borrow::Cow::Borrowed(_));
        assert_eq!(borrowed, !serde_json::to_string(f).unwrap().contains("\\u"));
        fast += usize::from(borrowed);
    }
    assert!(fast * 10 > frames.len() * 9, "{fast} of {}", frames.len());
}

#[test]
fn near_misses_and_odd_lines_read_the_same() {
    let good = line("binance-spot", "ws", r#"{"u":1,"s":"BNBUSDT"}"#, 7);
    let mut cases = vec![
        good.clone(),
        String::new(),
        "   ".into(),
        good.clone() + "\r",
        good.clone() + " ",
        " ".to_owned() + &good,
        good.replace(r#","epoch":7}"#, "}"), // epoch missing: default 0
        good.replace(r#""epoch":7"#, r#""epoch":07"#), // leading zero: an error
        good.replace(r#""epoch":7"#, r#""epoch":-7"#),
        good.replace(r#""epoch":7"#, r#""epoch":7.0"#),
        good.replace(r#""epoch":7"#, r#""epoch":18446744073709551616"#),
        good.replace(r#""epoch":7"#, r#""epoch":18446744073709551615"#),
        good.replace(r#""epoch":7"#, r#""epoch":0"#),
        good.replace("binance-spot", r"binance\u002dspot"), // escape in an id
        good.replace("binance-spot", r#"binance\"spot"#),
        good.replace("BNBUSDT", r"BNB\u00e9USDT"), // \u in the frame
        good.replace("BNBUSDT", r"BNB\/\b\f\n\r\t\\USDT"),
        good.replace("BNBUSDT", r"BNB\xUSDT"), // invalid escape
        good.replace("BNBUSDT", "BNB\tUSDT"),  // raw control character
        good.replace("BNBUSDT", "BNBé€😀USDT"),
        good.replace(
            "2025-11-18T11:06:39.000010Z",
            "2025-11-18T11:06:39.0000101Z",
        ),
        good.replace("2025-11-18T11:06:39.000010Z", "2025-11-18T11:06:39Z"),
        good.replace("2025-11-18T11:06:39.000010Z", "2025-02-30T11:06:39.000010Z"),
        good.replace("2025-11-18T11:06:39.000010Z", "1969-11-18T11:06:39.000010Z"),
        good.replace("2025-11-18T11:06:39.000010Z", "not a time"),
        good.replace(
            r#""connector":"binance-spot","venue":"binance""#,
            r#""venue":"binance","connector":"binance-spot""#,
        ),
        good.replace(
            r#""venue":"binance""#,
            r#""venue":"binance","venue":"binance""#,
        ),
        good.replace(r#","channel":"ws""#, ""),
        good.replace(r#","frame""#, r#", "frame""#),
        good.replace(r#""epoch":7"#, r#""epoch":7,"extra":1"#),
        good[..good.len() - 1].to_owned(),
        "not json".into(),
        "{}".into(),
    ];
    assert!(good.contains("2025-11-18T11:06:39.000010Z"), "{good}");
    cases.push(good);
    let text = cases.join("\n");
    let (ours, serde) = both(text.as_bytes());
    assert!(ours.iter().filter(|l| l.is_err()).count() > 5);
    assert!(ours.iter().filter(|l| l.is_ok()).count() > 10);
    assert_eq!(ours, serde);
    // Invalid UTF-8 is an error of its line, and reading goes on.
    let mut bytes = line("a", "ws", "{}", 1).into_bytes();
    bytes.extend_from_slice(b"\n\xff\xfe\n");
    bytes.extend_from_slice(line("b", "ws", "{}", 2).as_bytes());
    let (ours, serde) = both(&bytes);
    assert_eq!(ours.len(), 3);
    assert_eq!(ours, serde);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn any_capture_line_reads_back(
        connector in any::<String>(),
        channel in prop_oneof!["ws".prop_map(String::from), any::<String>()],
        frame in any::<String>(),
        at in 0i64..253_402_300_799_999_999,
        epoch in any::<u64>(),
    ) {
        let c = CaptureLine { connector, venue: "okx".into(), received_at: Ts::from_micros(at), channel, frame, epoch };
        let text = serde_json::to_string(&c).unwrap() + "\n";
        let (ours, serde) = both(text.as_bytes());
        prop_assert_eq!(&ours, &serde);
        prop_assert_eq!(ours, vec![Ok(c)]);
    }

    #[test]
    fn mutated_capture_lines_read_the_same(
        frame in "[a-z\"\\\\{}:,é\t\n]{0,30}",
        at in 0usize..200,
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let good = line("binance-spot", "ws", &frame, 3);
        let mut b = good.into_bytes();
        let at = at % b.len();
        if cut {
            b.remove(at);
        } else {
            b[at] = byte;
        }
        b.push(b'\n');
        let (ours, serde) = both(&b);
        prop_assert_eq!(ours, serde);
    }
}
