//! The host-file source (and kubeconfigs): TODO, implemented by the files helper.

use std::sync::Arc;

use crate::config::FileSourceConfig;
use crate::model::SourceKind;
use crate::parse::ParseOptions;

use super::{BoxFuture, ScanCtx, Source, SourceOutput};

pub struct FileSource {
    cfg: FileSourceConfig,
    opts: ParseOptions,
}

impl FileSource {
    pub fn new(cfg: FileSourceConfig) -> Self {
        let opts = ParseOptions {
            pkcs12_passwords: cfg.pkcs12_passwords.clone(),
            try_empty_password: cfg.try_empty_password,
        };
        FileSource { cfg, opts }
    }
}

impl Source for FileSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![self.cfg.kind]
    }
    fn name(&self) -> &str {
        &self.cfg.name
    }
    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }
    fn scan(self: Arc<Self>, _ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move { todo!() })
    }
}
