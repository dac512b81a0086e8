//! Wire-format tests: fixtures (spec Appendix A), golden bytes (EX-1..EX-5), round trips,
//! register validation (E-10), the tolerant reader, negotiation and robustness.

mod fixtures;
mod fuzz_regressions;
mod golden;
mod hardening;
mod java_captured;
mod negotiate;
mod reader;
mod register;
mod robustness;
mod roundtrip;
mod support;
mod xml_conformance;
