{{/*
Names, labels and the certvigil configurations rendered from the values.
*/}}

{{- define "certvigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "certvigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "certvigil.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "certvigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certvigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "certvigil.labels" -}}
{{ include "certvigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "certvigil.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}{{- $repo = printf "%s/%s" .Values.image.registry $repo -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s%s" $repo (default .Chart.AppVersion .Values.image.tag) (.Values.image.tagSuffix | default "") -}}
{{- end -}}
{{- end -}}

{{- define "certvigil.serviceAccountName" -}}
{{- default (include "certvigil.fullname" .) .Values.rbac.secretsExporter.serviceAccountName -}}
{{- end -}}

{{- define "certvigil.hostServiceAccountName" -}}
{{- default (printf "%s-host" (include "certvigil.fullname" .)) .Values.rbac.hostPathsExporter.serviceAccountName -}}
{{- end -}}

{{- define "certvigil.webConfigSecret" -}}
{{- default (printf "%s-webconfig" (include "certvigil.fullname" .)) .Values.webConfigurationExistingSecret -}}
{{- end -}}

{{- define "certvigil.hasWebConfig" -}}
{{- if or .Values.webConfiguration .Values.webConfigurationExistingSecret -}}true{{- end -}}
{{- end -}}

{{/* Whether the Deployment (Kubernetes API sources) runs. */}}
{{- define "certvigil.clusterEnabled" -}}
{{- if or .Values.secretsExporter.enabled .Values.cabundlesExporter.enabled .Values.csrsExporter.enabled -}}true{{- end -}}
{{- end -}}

{{/*
Fail on values of the x509-certificate-exporter chart that certvigil cannot honour,
naming the key: a values file never silently means something else here.
*/}}
{{- define "certvigil.checkUnsupported" -}}
{{- $v := .Values -}}
{{- $why := "is not supported by certvigil (docs/deploy.md#helm); remove it or leave it empty" -}}
{{- if ne $v.metricLabelsFilterList nil }}{{ fail (printf "metricLabelsFilterList %s" $why) }}{{ end -}}
{{- if dig "enabled" false (default dict $v.rbacProxy) }}{{ fail (printf "rbacProxy.enabled %s (use webConfiguration for TLS/basic auth)" $why) }}{{ end -}}
{{- if dig "create" false (default dict $v.psp) }}{{ fail (printf "psp.create %s (PodSecurityPolicy was removed in Kubernetes 1.25)" $why) }}{{ end -}}
{{- if $v.probeListenPort }}{{ fail (printf "probeListenPort %s" $why) }}{{ end -}}
{{- if $v.extraDeploy }}{{ fail (printf "extraDeploy %s" $why) }}{{ end -}}
{{- if $v.extraDeployVerbatim }}{{ fail (printf "extraDeployVerbatim %s" $why) }}{{ end -}}
{{- range $k := list "includeNamespaceLabels" "excludeNamespaceLabels" "extraArgs" }}
{{- if index $v.secretsExporter $k }}{{ fail (printf "secretsExporter.%s %s" $k $why) }}{{ end -}}
{{- end -}}
{{- range $k := list "includeNames" "excludeNames" "includeLabels" "excludeLabels" }}
{{- if index $v.cabundlesExporter $k }}{{ fail (printf "cabundlesExporter.%s %s" $k $why) }}{{ end -}}
{{- end -}}
{{- $r := $v.prometheusRules -}}
{{- range $k := list "rulePrefix" "alertExprOverrides" "alertForOverrides" "alertExtraLabels" "alertExtraAnnotations" "disableBuiltinAlertGroup" }}
{{- if index $r $k }}{{ fail (printf "prometheusRules.%s %s (the rules are alerts/*.rules.yml verbatim)" $k $why) }}{{ end -}}
{{- end -}}
{{- range $k, $d := dict "warningDaysLeft" 28 "criticalDaysLeft" 14 "crlWarningDaysLeft" 7 }}
{{- if and (hasKey $r $k) (ne (int (index $r $k)) (int $d)) }}{{ fail (printf "prometheusRules.%s: only %d is supported (the rules are alerts/*.rules.yml verbatim)" $k (int $d)) }}{{ end -}}
{{- end -}}
{{- end -}}

{{/* Settings shared by every rendered configuration: server, metrics, log. */}}
{{- define "certvigil.commonConfig" -}}
{{- $ := index . 0 -}}
{{- $debug := index . 1 -}}
{{- $server := dict "listen" (printf ":%d" (int $.Values.podListenPort)) -}}
{{- if include "certvigil.hasWebConfig" $ -}}
{{- $_ := set $server "web_config_file" "/etc/certvigil/web/webconfig.yaml" -}}
{{- end -}}
{{- $metrics := dict
  "cluster" $.Values.certvigil.cluster
  "expose_relative" $.Values.exposeRelativeMetrics
  "expose_per_cert_error" $.Values.exposePerCertificateErrorMetrics
  "expose_not_before" $.Values.exposeNotBeforeMetric
  "expose_expired" $.Values.exposeExpiredMetric -}}
{{- $log := dict "level" (ternary "debug" "info" (eq (toString $debug) "true")) "format" $.Values.certvigil.logFormat -}}
{{- toYaml (dict "server" $server "metrics" $metrics "log" $log) -}}
{{- end -}}

{{/* The Deployment's configuration: the Kubernetes API sources. */}}
{{- define "certvigil.clusterConfig" -}}
{{- $v := .Values -}}
{{- $s := $v.secretsExporter -}}
{{- /* Secret types: one certvigil entry per type, keys and passwords merged. */ -}}
{{- $order := list -}}
{{- $types := dict -}}
{{- range $i, $t := (ternary $s.secretTypes list $s.enabled) -}}
{{- $where := printf "secretsExporter.secretTypes[%d]" $i -}}
{{- if not $t.type }}{{ fail (printf "%s.type is required" $where) }}{{ end -}}
{{- if $t.keyPatterns }}{{ fail (printf "%s.keyPatterns (regular expressions) is not supported by certvigil: use key, or keys (names or globs)" $where) }}{{ end -}}
{{- if not (hasKey $types $t.type) -}}
{{- $order = append $order $t.type -}}
{{- $_ := set $types $t.type (dict "type" $t.type "keys" list "pkcs12_passwords" list "keystore_passwords" list) -}}
{{- end -}}
{{- $e := index $types $t.type -}}
{{- $keys := $e.keys -}}
{{- if $t.key }}{{ $keys = append $keys $t.key }}{{ end -}}
{{- range $t.keys }}{{ $keys = append $keys . }}{{ end -}}
{{- if not $keys }}{{ fail (printf "%s needs key or keys" $where) }}{{ end -}}
{{- $_ := set $e "keys" ($keys | uniq) -}}
{{- range $fmt, $field := dict "pkcs12" "pkcs12" "jks" "keystore" -}}
{{- with (index $t $fmt) -}}
{{- if or .passphraseFile .passphraseSecretRef }}{{ fail (printf "%s.%s.passphraseFile / passphraseSecretRef are not supported by certvigil: use passphrase or passphraseKey" $where $fmt) }}{{ end -}}
{{- if .passphrase }}{{ $_ := set $e (printf "%s_passwords" $field) (append (index $e (printf "%s_passwords" $field)) .passphrase) }}{{ end -}}
{{- if .passphraseKey }}{{ $_ := set $e (printf "%s_password_key" $field) .passphraseKey }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $typeList := list -}}
{{- range $order }}{{ $typeList = append $typeList (index $types .) }}{{ end -}}
{{- $selector := list -}}
{{- range $s.includeLabels }}{{ $selector = append $selector . }}{{ end -}}
{{- range $s.excludeLabels -}}
{{- if contains "=" . -}}
{{- $kv := splitn "=" 2 . -}}
{{- $selector = append $selector (printf "%s!=%s" $kv._0 $kv._1) -}}
{{- else -}}
{{- $selector = append $selector (printf "!%s" .) -}}
{{- end -}}
{{- end -}}
{{- $secrets := dict "enabled" (and $s.enabled (gt (len $typeList) 0)) "types" $typeList "expose_labels" ($s.exposeSecretLabels | default list) -}}
{{- if $s.includeSecrets }}{{ $_ := set $secrets "include" $s.includeSecrets }}{{ end -}}
{{- if $s.excludeSecrets }}{{ $_ := set $secrets "exclude" $s.excludeSecrets }}{{ end -}}
{{- if $selector }}{{ $_ := set $secrets "label_selector" (join "," $selector) }}{{ end -}}
{{- $cm := dict "enabled" (and $s.enabled (gt (len ($s.configMapKeys | default list)) 0)) -}}
{{- if $s.configMapKeys }}{{ $_ := set $cm "keys" $s.configMapKeys }}{{ end -}}
{{- if $s.includeConfigMaps }}{{ $_ := set $cm "include" $s.includeConfigMaps }}{{ end -}}
{{- if $s.excludeConfigMaps }}{{ $_ := set $cm "exclude" $s.excludeConfigMaps }}{{ end -}}
{{- if $s.exposeConfigMapLabels }}{{ $_ := set $cm "expose_labels" $s.exposeConfigMapLabels }}{{ end -}}
{{- $res := list -}}
{{- $cr := $v.cabundlesExporter.resources -}}
{{- if $cr.validating }}{{ $res = append $res "validatingwebhookconfigurations" }}{{ end -}}
{{- if $cr.mutating }}{{ $res = append $res "mutatingwebhookconfigurations" }}{{ end -}}
{{- if $cr.apiservice }}{{ $res = append $res "apiservices" }}{{ end -}}
{{- if $cr.crdConversion }}{{ $res = append $res "customresourcedefinitions" }}{{ end -}}
{{- $kube := dict
  "enabled" true
  "name" "cluster"
  "namespaces" ($s.includeNamespaces | default list)
  "exclude_namespaces" ($s.excludeNamespaces | default list)
  "secrets" $secrets
  "configmaps" $cm
  "cabundles" (dict "enabled" (and $v.cabundlesExporter.enabled (gt (len $res) 0)) "resources" $res)
  "csrs" (dict "enabled" $v.csrsExporter.enabled)
  "ingresses" (dict "enabled" (and $s.enabled $v.healthChecks.ingresses))
  "cert_manager" (dict "enabled" (and $s.enabled $v.healthChecks.certManager)) -}}
{{- if $v.cabundlesExporter.exposeLabels }}{{ $_ := set $kube.cabundles "expose_labels" $v.cabundlesExporter.exposeLabels }}{{ end -}}
{{- if gt (int $s.listPageSize) 0 }}{{ $_ := set $kube "list_page_size" (int $s.listPageSize) }}{{ end -}}
{{- $roots := concat (list "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt") ($v.certvigil.trustRoots | default list) -}}
{{- include "certvigil.commonConfig" (list . $s.debugMode) }}
{{ toYaml (dict
  "scan" (dict "interval" $v.certvigil.scanInterval)
  "sources" list
  "kubernetes" $kube
  "docker" (dict "enabled" false)
  "trust" (dict "roots" $roots)
  "revocation" (dict "offline" $v.certvigil.revocationOffline)) }}
{{- end -}}

{{/* The effective settings of one hostPaths DaemonSet: defaults overridden by the entry. */}}
{{- define "certvigil.dsValues" -}}
{{- $ := index . 0 -}}
{{- $def := index . 1 | default dict -}}
{{- $out := dict -}}
{{- range $k, $val := $.Values.hostPathsExporter -}}
{{- if ne $k "daemonSets" }}{{ $_ := set $out $k $val }}{{ end -}}
{{- end -}}
{{- range $k, $val := $def }}{{ $_ := set $out $k $val }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The directory mounted for a watchDirectories entry: the part before the first glob character. */}}
{{- define "certvigil.staticPrefix" -}}
{{- $parts := list -}}
{{- $stop := false -}}
{{- range (clean . | splitList "/") -}}
{{- if or $stop (regexMatch "[*?\\[]" .) }}{{ $stop = true }}{{ else }}{{ $parts = append $parts . }}{{ end -}}
{{- end -}}
{{- $p := join "/" $parts -}}
{{- if eq $p "" }}/{{ else }}{{ $p }}{{ end -}}
{{- end -}}

{{/* Host directories to mount (sorted, unique) for one DaemonSet's effective values. */}}
{{- define "certvigil.dsMounts" -}}
{{- $d := . -}}
{{- $dirs := list -}}
{{- range $d.watchDirectories }}{{ $dirs = append $dirs (include "certvigil.staticPrefix" .) }}{{ end -}}
{{- range $d.watchSpecificExtensionDirectories }}{{ $dirs = append $dirs (clean .directory) }}{{ end -}}
{{- range $d.watchFiles }}{{ $dirs = append $dirs (clean . | dir) }}{{ end -}}
{{- range $d.watchKubeconfFiles }}{{ $dirs = append $dirs (clean . | dir) }}{{ end -}}
{{- range $dirs -}}
{{- if or (eq . "/") (not (isAbs .)) }}{{ fail (printf "hostPathsExporter: %q: watched paths must be absolute and below /" .) }}{{ end -}}
{{- if or (eq . "/etc/certvigil") (hasPrefix "/etc/certvigil/" .) }}{{ fail (printf "hostPathsExporter: %q collides with the configuration mount /etc/certvigil" .) }}{{ end -}}
{{- end -}}
{{- $dirs = $dirs | uniq | sortAlpha -}}
{{- /* A directory below another mounted one is visible through it already. */ -}}
{{- $kept := list -}}
{{- range $dir := $dirs -}}
{{- $covered := false -}}
{{- range $other := $dirs }}{{ if hasPrefix (printf "%s/" $other) $dir }}{{ $covered = true }}{{ end }}{{ end -}}
{{- if not $covered }}{{ $kept = append $kept $dir }}{{ end -}}
{{- end -}}
{{- toYaml (dict "dirs" $kept) -}}
{{- end -}}

{{/* One DaemonSet's configuration: its host files, nothing else. */}}
{{- define "certvigil.hostConfig" -}}
{{- $ := index . 0 -}}
{{- $name := index . 1 -}}
{{- $d := index . 2 -}}
{{- $paths := list -}}
{{- range $d.watchDirectories }}{{ $paths = append $paths (clean .) }}{{ end -}}
{{- range $d.watchSpecificExtensionDirectories }}{{ $paths = append $paths (printf "%s/*.%s" (clean .directory) (trimPrefix "." .extension)) }}{{ end -}}
{{- range $d.watchFiles }}{{ $paths = append $paths (clean .) }}{{ end -}}
{{- /* Directories are read recursively: drop paths below a watched directory. */ -}}
{{- $dirs := list -}}
{{- range $d.watchDirectories }}{{ if not (regexMatch "[*?\\[]" .) }}{{ $dirs = append $dirs (clean .) }}{{ end }}{{ end -}}
{{- $kept := list -}}
{{- range $p := $paths | uniq -}}
{{- $covered := false -}}
{{- range $dir := $dirs }}{{ if hasPrefix (printf "%s/" $dir) $p }}{{ $covered = true }}{{ end }}{{ end -}}
{{- if not $covered }}{{ $kept = append $kept $p }}{{ end -}}
{{- end -}}
{{- $paths = $kept -}}
{{- $sources := list -}}
{{- if $paths -}}
{{- $sources = append $sources (dict "kind" "file" "name" (printf "host-paths-%s" $name) "paths" ($paths | uniq) "follow_symlinks" (not $d.skipSymlinks)) -}}
{{- end -}}
{{- if $d.watchKubeconfFiles -}}
{{- $sources = append $sources (dict "kind" "kubeconfig" "name" (printf "host-kubeconfigs-%s" $name) "paths" (without ($d.watchKubeconfFiles | uniq) "") "follow_symlinks" (not $d.skipSymlinks)) -}}
{{- end -}}
{{- $cfg := dict
  "scan" (dict "interval" (toString $d.refreshInterval))
  "sources" $sources
  "kubernetes" (dict "enabled" false)
  "docker" (dict "enabled" false)
  "revocation" (dict "offline" $.Values.certvigil.revocationOffline) -}}
{{- if $.Values.certvigil.trustRoots }}{{ $_ := set $cfg "trust" (dict "roots" $.Values.certvigil.trustRoots) }}{{ end -}}
{{- include "certvigil.commonConfig" (list $ $d.debugMode) }}
{{ toYaml $cfg }}
{{- end -}}

{{/* Container securityContext: the values, with the hardening always enforced. */}}
{{- define "certvigil.containerSecurityContext" -}}
{{- $sc := index . 0 | default dict | deepCopy -}}
{{- $asRoot := index . 1 -}}
{{- $_ := set $sc "readOnlyRootFilesystem" true -}}
{{- $_ := set $sc "allowPrivilegeEscalation" false -}}
{{- $_ := set $sc "privileged" false -}}
{{- $caps := dict "drop" (list "ALL") -}}
{{- if $asRoot }}{{ $_ := set $caps "add" (list "DAC_READ_SEARCH") }}{{ end -}}
{{- $_ := set $sc "capabilities" $caps -}}
{{- if $asRoot -}}
{{- $_ := set $sc "runAsUser" 0 -}}
{{- $_ := set $sc "runAsGroup" 0 -}}
{{- $_ := set $sc "runAsNonRoot" false -}}
{{- else if eq (toString (index $sc "runAsUser" | default "")) "0" -}}
{{- $_ := set $sc "runAsNonRoot" false -}}
{{- end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/*
Probe with the chart's handler: httpGet on /readyz or /healthz (HTTPS when the web
configuration has tls_server_config); a TCP check when it has basic_auth_users, as
basic auth protects every path and the kubelet holds no password.
*/}}
{{- define "certvigil.probe" -}}
{{- $ := index . 0 -}}
{{- $path := index . 1 -}}
{{- $p := index . 2 | default dict | deepCopy -}}
{{- $web := toString $.Values.webConfiguration -}}
{{- if or (contains "basic_auth_users" $web) $.Values.webConfigurationExistingSecret -}}
{{- $_ := set $p "tcpSocket" (dict "port" "metrics") -}}
{{- else -}}
{{- $scheme := ternary "HTTPS" "HTTP" (contains "tls_server_config" $web) -}}
{{- $_ := set $p "httpGet" (dict "path" $path "port" "metrics" "scheme" $scheme) -}}
{{- end -}}
{{- toYaml $p -}}
{{- end -}}
