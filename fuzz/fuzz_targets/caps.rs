//! Feeds arbitrary UTF-8 to the caps parser: it must never panic, and caps it accepts
//! must print to a string that parses back to the same caps (and prints the same).
#![no_main]

use libfuzzer_sys::fuzz_target;
use penstock::caps::Caps;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match input.parse::<Caps>() {
        Ok(caps) => {
            let printed = caps.to_string();
            let again: Caps = match printed.parse() {
                Ok(c) => c,
                Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
            };
            assert_eq!(again, caps, "{input:?} printed as {printed:?}");
            assert_eq!(again.to_string(), printed, "printing is stable");
        }
        Err(e) => {
            assert!(e.column() <= input.len(), "{e:?}");
            let _ = e.to_string();
            let _ = e.snippet(input);
        }
    }
});
