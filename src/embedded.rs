//! The files compiled into the binary (written by build.rs): `QUERIES`, the
//! metric SQL and metadata of `queries/`, and `TEMPLATES`, the report
//! templates of `templates/`, each as (path under its folder, text). The
//! catalog reads the first, the report and `templates --export` the second.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
