//! binderdb's client side of AWS: what the binary needs to talk to other AWS-style endpoints.
//!
//! - [`sigv4`]: Signature Version 4 signing (the bench, `binderdb export`/`import`, S3).
//! - [`connect`]: `http://` and `https://` connections (rustls, the system's roots and
//!   `AWS_CA_BUNDLE`).
//! - [`s3`]: the buckets of an S3-compatible server as the engine's
//!   [`ObjectStore`](binderdb_engine::exchange::objects::ObjectStore), for exports and
//!   imports (`--s3-endpoint`, `s3://`).
//!
//! Why not the AWS SDK for S3: it would bring its own HTTP stack, credential chain and
//! runtime into the release build for five calls; these are written on the hyper client and
//! rustls already in the tree, and the signer the bench already had (see the README's
//! "Export and import" for the build-time comparison).
//!
//! Must not depend on: the server or a storage engine (only the engine's object-store
//! contract).

pub mod connect;
pub mod s3;
pub mod sigv4;
mod xml;
