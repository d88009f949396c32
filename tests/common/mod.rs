//! Shared test fakes: the in-process Kubernetes API server.
pub mod fake_apiserver;
