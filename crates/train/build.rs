// Link flags for libtorch from the PyPI wheel, for gmmn-train and gmmn-sample (crates/sample's
// Cargo.toml points here). torch-sys (`links = "tch"`) reports the libtorch directory as
// DEP_TCH_LIBTORCH_LIB to its direct dependents, which both crates are:
// * an rpath, so that the binaries run without LD_LIBRARY_PATH;
// * libtorch_cuda without --as-needed: nothing in our code references it by symbol, so the
//   linker would drop it and libtorch would then never see a GPU (`--device auto` would always
//   mean CPU). Loading it on a machine without a GPU is harmless.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        if std::path::Path::new(&dir).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,-L{dir},--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
