//! The adapter suite against synack-mio.

synack_adapter_suite::adapter_suite!(synack_adapter_suite::Mio);
