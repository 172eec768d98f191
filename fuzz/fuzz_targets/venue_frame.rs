//! Every venue parser (streaming, REST balances, private balance streams): the first byte picks
//! the parser, the rest is a sequence of frames on one connection.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let out = connectors::fuzzing::venue_frames(data);
    assert_eq!(out.from_non_json, 0, "observations from a frame that is not JSON");
});
