//! `gmmn`: the workflow layer over the stage binaries.
//!
//! * [`spec`]: workflow specs (`workflows/*.yaml`), validated against `schemas/workflow.schema.json`.
//! * [`run`]: `gmmn run SPEC --out DIR`, the stages as subprocesses, incremental through manifests.

pub mod spec;
