//! Links libxml2 for the in-process schema validator (`src/validate.rs`): the flags come from
//! `pkg-config libxml-2.0` (the `pkg-config` program, so no build dependency is needed), or
//! plain `-lxml2` from the default search path when pkg-config is not installed.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    let flags = Command::new("pkg-config")
        .args(["--libs", "libxml-2.0"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    let Some(flags) = flags else {
        println!("cargo:warning=pkg-config libxml-2.0 not available; linking -lxml2 from the default path");
        println!("cargo:rustc-link-lib=dylib=xml2");
        return;
    };
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
        }
    }
}
