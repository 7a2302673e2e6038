//! The adapter suite against synack-tokio.

synack_adapter_suite::adapter_suite!(synack_adapter_suite::Tokio);
