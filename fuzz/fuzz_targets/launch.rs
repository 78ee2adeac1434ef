//! Feeds arbitrary UTF-8 to the launch-line parser: it must never panic, its errors must
//! point inside the input, and a line it accepts must print to a line that parses back
//! to the same description (spans aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use penstock::launch::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match parse(input) {
        Ok(desc) => {
            for link in &desc.links {
                assert!(link.src.element < desc.elements.len());
                assert!(link.sink.element < desc.elements.len());
            }
            let printed = desc.to_string();
            let again = match parse(&printed) {
                Ok(d) => d,
                Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
            };
            assert_eq!(
                again.without_spans(),
                desc.without_spans(),
                "{input:?} printed as {printed:?}"
            );
        }
        Err(e) => {
            let span = e.span();
            assert!(span.start <= span.end && span.end <= input.len(), "{e:?}");
            assert_eq!(e.token(), span.text(input));
            let _ = e.to_string();
            let _ = e.snippet(input);
        }
    }
});
