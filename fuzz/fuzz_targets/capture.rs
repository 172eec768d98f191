//! The capture reader, and every frame it accepts through the parser its line names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let out = connectors::fuzzing::capture_text(data);
    assert_eq!(out.from_non_json, 0, "observations from a frame that is not JSON");
});
