//! gmmn-project (in progress).
