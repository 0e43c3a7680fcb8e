/work/wt-plan/target-mainsize/wasm32-unknown-unknown/release-wasm/deps/cfg_if-ca713660e80fb5df.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cfg-if-1.0.5/src/lib.rs

/work/wt-plan/target-mainsize/wasm32-unknown-unknown/release-wasm/deps/libcfg_if-ca713660e80fb5df.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cfg-if-1.0.5/src/lib.rs

/work/wt-plan/target-mainsize/wasm32-unknown-unknown/release-wasm/deps/libcfg_if-ca713660e80fb5df.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cfg-if-1.0.5/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cfg-if-1.0.5/src/lib.rs:
