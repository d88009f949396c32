//! Lenient resource types for the watched Kubernetes kinds. Each is the object's
//! `metadata` plus the rest of its JSON as an untyped map, so that one malformed
//! field (invalid base64, a number where a string belongs) is a located error on
//! that object instead of a failure of the whole LIST page. `Debug` prints only
//! the object's identity: Secrets carry private keys.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::{Map, Value};

macro_rules! lenient_resource {
    ($(#[$doc:meta])* $name:ident, $api_version:expr, $group:expr, $version:expr, $kind:expr, $plural:expr, $scope:ty) => {
        $(#[$doc])*
        #[derive(Clone, Deserialize, Default)]
        pub struct $name {
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// Everything but `metadata`, undecoded.
            #[serde(flatten)]
            pub rest: Map<String, Value>,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("namespace", &self.metadata.namespace)
                    .field("name", &self.metadata.name)
                    .field("resource_version", &self.metadata.resource_version)
                    .finish_non_exhaustive()
            }
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = $api_version;
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = $scope;
        }

        impl k8s_openapi::Metadata for $name {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                wipe_map(&mut self.rest);
            }
        }
    };
}

lenient_resource!(
    /// `v1/Secret`.
    Secret, "v1", "", "v1", "Secret", "secrets", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `v1/ConfigMap`.
    ConfigMap, "v1", "", "v1", "ConfigMap", "configmaps", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration`.
    ValidatingWebhookConfiguration,
    "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io", "v1",
    "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
    k8s_openapi::ClusterResourceScope
);
lenient_resource!(
    /// `admissionregistration.k8s.io/v1/MutatingWebhookConfiguration`.
    MutatingWebhookConfiguration,
    "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io", "v1",
    "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
    k8s_openapi::ClusterResourceScope
);
lenient_resource!(
    /// `apiregistration.k8s.io/v1/APIService`.
    ApiService, "apiregistration.k8s.io/v1", "apiregistration.k8s.io", "v1",
    "APIService", "apiservices", k8s_openapi::ClusterResourceScope
);
lenient_resource!(
    /// `apiextensions.k8s.io/v1/CustomResourceDefinition`.
    CustomResourceDefinition, "apiextensions.k8s.io/v1", "apiextensions.k8s.io", "v1",
    "CustomResourceDefinition", "customresourcedefinitions", k8s_openapi::ClusterResourceScope
);
lenient_resource!(
    /// `certificates.k8s.io/v1/CertificateSigningRequest`.
    CertificateSigningRequest, "certificates.k8s.io/v1", "certificates.k8s.io", "v1",
    "CertificateSigningRequest", "certificatesigningrequests", k8s_openapi::ClusterResourceScope
);

/// Overwrite every string of a JSON tree with zeros before it is freed (Secret
/// values include private keys; this keeps them out of freed heap memory).
pub fn wipe_map(map: &mut Map<String, Value>) {
    for (_, v) in map.iter_mut() {
        wipe_value(v);
    }
}

fn wipe_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            let mut bytes = std::mem::take(s).into_bytes();
            bytes.fill(0);
        }
        Value::Array(a) => a.iter_mut().for_each(wipe_value),
        Value::Object(o) => o.iter_mut().for_each(|(_, v)| wipe_value(v)),
        _ => {}
    }
}

// Kinds read by the health checks (sources/kubernetes/health.rs): reduced to
// a few bounded fields as they arrive, never kept.
lenient_resource!(
    /// `networking.k8s.io/v1/Ingress`.
    Ingress, "networking.k8s.io/v1", "networking.k8s.io", "v1",
    "Ingress", "ingresses", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `cert-manager.io/v1/Certificate`.
    CmCertificate, "cert-manager.io/v1", "cert-manager.io", "v1",
    "Certificate", "certificates", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `cert-manager.io/v1/CertificateRequest`.
    CmCertificateRequest, "cert-manager.io/v1", "cert-manager.io", "v1",
    "CertificateRequest", "certificaterequests", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `cert-manager.io/v1/Issuer`.
    CmIssuer, "cert-manager.io/v1", "cert-manager.io", "v1",
    "Issuer", "issuers", k8s_openapi::NamespaceResourceScope
);
lenient_resource!(
    /// `cert-manager.io/v1/ClusterIssuer`.
    CmClusterIssuer, "cert-manager.io/v1", "cert-manager.io", "v1",
    "ClusterIssuer", "clusterissuers", k8s_openapi::ClusterResourceScope
);
