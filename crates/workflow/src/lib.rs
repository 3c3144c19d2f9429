//! `gmmn`: the workflow layer over the stage binaries.
//!
//! * [`spec`]: workflow specs (`workflows/*.yaml`), validated against `schemas/workflow.schema.json`.
//! * [`run`]: `gmmn run SPEC --out DIR`, the stages as subprocesses, incremental through manifests.
//! * [`audit`]: `gmmn audit DIR`, every manifest's schema, hashes and inputs, the ledger of a sealed
//!   tree (`gmmn audit --seal DIR`), and the lineage.
//! * [`table`]: the final table of a run (`gmmn table SPEC --out DIR` on its own).
//! * [`simulate`]: `gmmn simulate COHORT.vcf.gz --individuals N --out DIR`, a spec of the best
//!   configuration written and run for the user's own VCF.

pub mod audit;
pub mod run;
pub mod simulate;
pub mod spec;
pub mod table;
