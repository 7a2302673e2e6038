//! The adapter suite against synack-smol.

synack_adapter_suite::adapter_suite!(synack_adapter_suite::Smol);
