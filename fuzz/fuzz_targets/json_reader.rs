//! The tolerant JSON reader (`codec::decode_applications`, `decode_application`,
//! `decode_instance`, Json): never panics, and whatever it accepts writes and reads back
//! to the same value (W-10..W-17).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_eureka::codec::Format;

fuzz_target!(|data: &[u8]| fuzz_support::readers(data, Format::Json));
