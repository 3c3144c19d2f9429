// Embed libtorch's directory as an rpath so that gmmn-train runs without LD_LIBRARY_PATH.
// torch-sys (links = "tch") reports it as DEP_TCH_LIBTORCH_LIB to its direct dependents.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
