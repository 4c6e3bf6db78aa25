"""The default rule pack against realistic alerts (English and Russian, Alertmanager and Zabbix style).

Each case says what an MSP engineer would call it: an incident (the customer's service is down,
erroring or slow) or a silent fault (redundancy or headroom still carries the service).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from classifier import Classifier, load_pack
from connectors.alert import Alert
from tests.unit.util import am_alert, customers, zbx_alert

CLASSIFIER = Classifier(customers(), load_pack())


def case(id: str, kind: str, rule: str | None, make: Callable[[], Alert], *, xfail: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"classifier: {xfail}")] if xfail else []
    return pytest.param(make, kind, rule, id=id, marks=marks)


CASES = [
    # --- incidents: host / site down --------------------------------------------------------------
    case(
        "am-host-down",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "HostDown",
            "Host app-01.acme.example is down",
            "app-01.acme.example:9100 has not answered for more than 2 minutes.",
            expr='up{job="node"} == 0',
            severity="critical",
        ),
    ),
    case(
        "zbx-icmp-unavailable",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Unavailable by ICMP ping",
            item_key="icmpping",
            item_name="ICMP ping",
            severity="High",
            description="Last three attempts returned timeout. Please check device connectivity.",
            opdata="",
        ),
    ),
    case(
        "zbx-site-unreachable",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Branch office Kazan is unreachable",
            item_key="icmpping[10.20.0.1]",
            item_name="Kazan router ping",
            severity="Disaster",
        ),
    ),
    case(
        "zbx-service-not-running",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            'Service "MSSQLSERVER" (SQL Server (MSSQLSERVER)) is not running',
            item_key='service.info["MSSQLSERVER",state]',
            item_name='State of service "MSSQLSERVER"',
            severity="High",
        ),
    ),
    case(
        "zbx-windows-update-not-running",
        "fault",
        None,
        lambda: zbx_alert(
            'Service "wuauserv" (Windows Update) is not running',
            item_key='service.info["wuauserv",state]',
            item_name='State of service "wuauserv" (Windows Update)',
            severity="Average",
            host="srv-1c",
        ),
    ),
    case(
        "am-postgres-down",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "PostgresqlDown",
            "Postgresql down (instance db-01.acme.example:9187)",
            "Postgresql instance is down",
            expr="pg_up == 0",
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-site-down",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Сайт shop.globex.ru недоступен",
            item_key="web.test.fail[shop]",
            item_name="Проверка сайта",
            severity="High",
        ),
    ),
    case(
        "ru-zbx-1c-not-responding",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Сервер 1С:Предприятие не отвечает",
            item_key="net.tcp.service[tcp,,1541]",
            item_name="Порт 1541",
            severity="High",
        ),
    ),
    case(
        "ru-am-host-down",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "HostDown",
            "Хост app-02 недоступен",
            "Узел не отвечает на опросы более 2 минут.",
            expr='up{job="node"} == 0',
            severity="critical",
        ),
    ),
    # --- incidents: probes ------------------------------------------------------------------------
    case(
        "am-blackbox-probe-failed",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "BlackboxProbeFailed",
            "Blackbox probe failed (instance https://shop.acme.example)",
            "Probe failed",
            expr="probe_success == 0",
            severity="critical",
            instance="https://shop.acme.example",
        ),
    ),
    case(
        "zbx-web-scenario-failed",
        "incident",
        None,
        lambda: zbx_alert(
            'Web scenario "Shop checkout" failed: HTTP 503',
            item_key="web.test.fail[Shop checkout]",
            item_name='Failed step of scenario "Shop checkout"',
            severity="High",
        ),
    ),
    # --- incidents: errors and latency ----------------------------------------------------------------
    case(
        "am-http-5xx",
        "incident",
        "user-path-errors",
        lambda: am_alert(
            "HighHttp5xxErrorRate",
            "High rate of HTTP 5xx responses on shop.acme.example",
            "7.2% of requests fail with 5xx over the last 5 minutes.",
            expr='sum(rate(nginx_http_requests_total{status=~"5.."}[5m]))'
            " / sum(rate(nginx_http_requests_total[5m])) > 0.05",
            severity="critical",
        ),
    ),
    case(
        "zbx-nginx-5xx",
        "incident",
        "user-path-errors",
        lambda: zbx_alert(
            "Nginx: High error rate of HTTP 5xx responses (> 5% for 5m)",
            item_key="nginx.requests.5xx.rate",
            item_name="Nginx: 5xx responses per second",
            severity="Average",
        ),
    ),
    case(
        "ru-zbx-5xx",
        "incident",
        "user-path-errors",
        lambda: zbx_alert(
            "Ошибки 5xx на сайте shop.globex.ru превышают 5%", item_key="nginx.5xx.rate", severity="High"
        ),
    ),
    case(
        "am-latency",
        "incident",
        "user-path-latency",
        lambda: am_alert(
            "CheckoutApiLatencyHigh",
            "p99 latency of the checkout API is above 2s",
            "99th percentile latency is 3.4s for 10 minutes.",
            expr="histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le)) > 2",
        ),
    ),
    case(
        "zbx-response-time",
        "incident",
        "user-path-latency",
        lambda: zbx_alert(
            "Response time of https://portal.globex.example is too high (over 5s)",
            item_key="web.test.time[Portal,Login,resp]",
            item_name="Response time for step Login of scenario Portal",
            severity="Average",
        ),
    ),
    case(
        "ru-zbx-response-time",
        "incident",
        "user-path-latency",
        lambda: zbx_alert(
            "Время ответа сайта portal.globex.ru превышает 3 секунды",
            item_key="web.test.time[portal,main,resp]",
            severity="Average",
        ),
    ),
    case(
        "zbx-mail-deferred",
        "incident",
        "user-path-errors",
        lambda: zbx_alert(
            "Postfix: too many deferred messages (over 500 for 15m)",
            item_key="postfix.queue.deferred",
            item_name="Postfix: deferred queue size",
            severity="High",
            host="mx1.globex.example",
        ),
    ),
    case(
        "am-rabbit-queue-growing",
        "fault",
        None,
        lambda: am_alert(
            "RabbitmqQueueGrowing",
            "RabbitMQ queue orders is growing (10342 messages)",
            "Consumers of queue orders on rabbit-01 are slower than publishers.",
            expr='rabbitmq_queue_messages{queue="orders"} > 10000',
        ),
    ),
    case(
        "am-kube-api-down",
        "incident",
        None,
        lambda: am_alert(
            "KubeAPIDown",
            "Target disappeared from Prometheus target discovery.",
            "KubeAPI has disappeared from Prometheus target discovery.",
            expr='absent(up{job="apiserver"} == 1)',
            severity="critical",
        ),
    ),
    case(
        "am-kube-pod-crashlooping",
        "fault",
        None,
        lambda: am_alert(
            "KubePodCrashLooping",
            "Pod is crash looping.",
            'Pod shop/api-7d9f8c6b5-x2x4k (api) is in waiting state (reason: "CrashLoopBackOff").',
            expr='max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", '
            'job="kube-state-metrics"}[5m]) >= 1',
        ),
    ),
    case(
        "am-kube-replicas-mismatch",
        "fault",
        None,
        lambda: am_alert(
            "KubeDeploymentReplicasMismatch",
            "Deployment has not matched the expected number of replicas.",
            "Deployment shop/api has not matched the expected number of replicas for longer than 15 minutes.",
            expr="kube_deployment_spec_replicas != kube_deployment_status_replicas_available",
        ),
    ),
    # --- incidents: certificates --------------------------------------------------------------------
    case(
        "am-cert-expired",
        "incident",
        "certificate-expired",
        lambda: am_alert(
            "BlackboxSslCertificateExpired",
            "Blackbox SSL certificate expired (instance https://www.acme.example)",
            "SSL certificate has expired already",
            expr="round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 0",
            severity="critical",
        ),
    ),
    case(
        "zbx-cert-invalid",
        "incident",
        "certificate-expired",
        lambda: zbx_alert(
            "Cert: SSL certificate is invalid",
            item_key="web.certificate.get[www.acme.example,443]",
            item_name="Cert: Validation result",
            severity="High",
        ),
    ),
    case(
        "ru-zbx-cert-expired",
        "incident",
        None,
        lambda: zbx_alert(
            "SSL-сертификат сайта shop.globex.ru истёк", item_key="web.certificate.get[shop.globex.ru]", severity="High"
        ),
    ),
    # --- incidents: links, VPN ------------------------------------------------------------------------
    case(
        "zbx-ipsec-down",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "IPsec tunnel to branch office Kazan is down",
            item_key="vpn.tunnel.status[kazan]",
            item_name="IPsec tunnel Kazan state",
            severity="High",
        ),
    ),
    case(
        "zbx-uplink-link-down",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Interface Gi0/1(Uplink to ISP Rostelecom): Link down",
            item_key="net.if.status[ifOperStatus.1]",
            item_name="Interface Gi0/1(Uplink to ISP Rostelecom): Operational status",
            severity="Average",
            host="core-sw01",
        ),
    ),
    case(
        "am-vpn-down",
        "incident",
        "link-down",
        lambda: am_alert(
            "VpnTunnelDown",
            "VPN tunnel to AWS eu-central-1 is down",
            "IPsec SA for peer 3.120.1.1 not established.",
            expr="ipsec_tunnel_up == 0",
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-channel-down",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Канал связи с филиалом в Самаре недоступен", item_key="icmpping[10.30.0.1]", severity="High"
        ),
    ),
    case(
        "ru-zbx-vpn-down",
        "incident",
        None,
        lambda: zbx_alert("Упал VPN-туннель до филиала в Казани", item_key="vpn.status[kazan]", severity="High"),
    ),
    case(
        "am-all-paths-down",
        "incident",
        "redundancy-lost",
        lambda: am_alert(
            "MultipathAllPathsDown",
            "All paths to LUN 3 on esx-02 are down",
            "The datastore on LUN 3 is inaccessible.",
            severity="critical",
        ),
    ),
    # --- incidents: cluster quorum, storage ----------------------------------------------------------
    case(
        "am-etcd-no-leader",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert(
            "EtcdNoLeader",
            "etcd cluster has no leader",
            "etcd member 10.0.0.3:2379 has no leader.",
            expr="etcd_server_has_leader == 0",
            severity="critical",
        ),
    ),
    case(
        "zbx-pve-quorum",
        "incident",
        "quorum-or-leader-lost",
        lambda: zbx_alert(
            "Proxmox cluster pve-main lost quorum",
            item_key="pve.cluster.quorate",
            item_name="Cluster quorate",
            severity="Disaster",
        ),
    ),
    case(
        "am-rabbit-partition",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert(
            "RabbitmqClusterPartition",
            "RabbitMQ cluster partition (split brain) detected",
            expr="rabbitmq_partitions > 0",
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-quorum",
        "incident",
        None,
        lambda: zbx_alert("Потерян кворум кластера 1С", item_key="cluster.quorum", severity="Disaster"),
    ),
    case(
        "zbx-netapp-volume-offline",
        "incident",
        None,
        lambda: zbx_alert(
            "Volume vol_data on netapp-01 is offline",
            item_key="netapp.volume.state[vol_data]",
            item_name="Volume vol_data: state",
            severity="High",
        ),
    ),
    case(
        "am-datastore-full",
        "incident",
        "storage-offline",
        lambda: am_alert(
            "VmwareDatastoreFull",
            "Datastore DS-01 is full: no space left, VMs paused",
            expr="vmware_datastore_freespace_size == 0",
            severity="critical",
        ),
    ),
    # --- incidents: power -------------------------------------------------------------------------------
    case(
        "zbx-ups-on-battery",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "APC UPS: Unit is on battery",
            item_key="upsBasicOutputStatus",
            item_name="APC UPS: Output status",
            severity="Average",
            host="ups-01",
        ),
    ),
    case(
        "am-ups-battery-low",
        "incident",
        "ups-power-lost",
        lambda: am_alert(
            "UpsBatteryLow",
            "UPS ups-01 battery low, shutdown imminent",
            "Runtime left: 4 minutes.",
            expr="nut_battery_charge < 20",
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-ups-on-battery",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "ИБП ups-01 перешёл на питание от батарей",
            item_key="ups.status",
            item_name="Состояние ИБП",
            severity="Average",
            host="ups-01",
        ),
    ),
    # --- faults: RAID, disks, SMART -------------------------------------------------------------------
    case(
        "zbx-raid-degraded",
        "fault",
        "raid-degraded",
        lambda: zbx_alert(
            "RAID degraded on srv-db01",
            item_key="raid.status",
            item_name="RAID status",
            severity="High",
            description="RAID array reports status 1 (0 = OK).",
            opdata="status=1",
        ),
    ),
    case(
        "zbx-dell-vdisk-degraded",
        "fault",
        "raid-degraded",
        lambda: zbx_alert(
            "Virtual disk 0 (Disk0) is in degraded state",
            item_key="virtualDiskState[0]",
            item_name="Virtual disk 0 status",
            severity="Average",
            host="srv-db01-idrac",
        ),
    ),
    case(
        "am-md-degraded",
        "fault",
        "raid-degraded",
        lambda: am_alert(
            "NodeRAIDDegraded",
            "RAID array 'md1' on app-01 is in degraded state due to one or more disks failures",
            "Number of spare drives is insufficient to fix issue automatically.",
            expr='(node_md_disks_required - ignoring (state) (node_md_disks{state="active"})) > 0',
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-raid-degraded",
        "fault",
        "raid-degraded",
        lambda: zbx_alert("Отказ диска в RAID-массиве на srv-db01", item_key="raid.status", severity="High"),
    ),
    case(
        "zbx-physical-disk-failed",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert(
            "Physical disk 0:1:3 failed",
            item_key="physicalDiskState[0:1:3]",
            item_name="Physical disk 0:1:3 status",
            severity="High",
            host="srv-db01-idrac",
        ),
    ),
    case(
        "am-disk-failed-in-array",
        "fault",
        None,
        lambda: am_alert(
            "NodeRAIDDiskFailure",
            "Disk /dev/sdb failed in RAID1 array md1 on app-01",
            "At least one device in RAID array on app-01 failed. Array 'md1' needs attention.",
            expr='node_md_disks{state="failed"} > 0',
        ),
    ),
    case(
        "ru-zbx-disk-failure",
        "fault",
        None,
        lambda: zbx_alert("Отказ диска /dev/sdb на srv-db01", item_key="hw.disk.status[sdb]", severity="High"),
    ),
    case(
        "ru-zbx-disk-failed",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert("Диск /dev/sdb на srv-01 неисправен", item_key="vfs.dev.status[sdb]", severity="High"),
    ),
    case(
        "am-smart-reallocated",
        "fault",
        "smart-predictive",
        lambda: am_alert(
            "SmartReallocatedSectors",
            "SMART: disk /dev/sda on app-01 has 24 reallocated sectors",
            expr='smartctl_device_attribute{attribute_name="Reallocated_Sector_Ct"} > 0',
        ),
    ),
    case(
        "zbx-smart-failed",
        "fault",
        "smart-predictive",
        lambda: zbx_alert(
            "SMART [/dev/sda]: self-test failed",
            item_key="smart.disk.test[sda]",
            item_name="SMART [sda]: Self-test",
            severity="High",
        ),
    ),
    # --- faults: power supplies, fans -----------------------------------------------------------------
    case(
        "zbx-psu-critical",
        "fault",
        "power-supply-member",
        lambda: zbx_alert(
            "Power supply 2 is in critical state",
            item_key="psu.status[2]",
            item_name="Power supply 2 status",
            severity="High",
            host="srv-db01-idrac",
        ),
    ),
    case(
        "am-psu-failed",
        "fault",
        "power-supply-member",
        lambda: am_alert(
            "IpmiPowerSupplyFailed",
            "PSU2 on srv-db01 failed",
            "One of two power supplies reports failure.",
            expr='ipmi_sensor_state{type="Power Supply"} == 2',
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-psu-failed",
        "fault",
        "power-supply-member",
        lambda: zbx_alert("Отказ блока питания PSU2 на srv-01", item_key="psu.status[2]", severity="High"),
    ),
    case(
        "zbx-fan-failed",
        "fault",
        "fan-member",
        lambda: zbx_alert(
            "Fan 3 is in critical state", item_key="sensor.fan.status[3]", item_name="Fan 3 status", severity="Average"
        ),
    ),
    case(
        "ru-zbx-fan-failed",
        "fault",
        "fan-member",
        lambda: zbx_alert("Вентилятор 2 на srv-01 неисправен", item_key="sensor.fan.status[2]", severity="Average"),
    ),
    # --- faults: links and replicas ---------------------------------------------------------------------
    case(
        "am-bond-slave-down",
        "fault",
        "link-member",
        lambda: am_alert(
            "BondingSlaveDown",
            "Bond bond0 on app-01 has 1 of 2 slaves down",
            expr="node_bonding_slaves - node_bonding_active > 0",
        ),
    ),
    case(
        "zbx-one-uplink-down",
        "fault",
        "link-member",
        lambda: zbx_alert(
            "One of two uplinks of core-sw01 is down",
            item_key="net.if.status[ifOperStatus.2]",
            severity="Average",
            host="core-sw01",
        ),
    ),
    case(
        "am-pg-replication-lag",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "PostgresqlReplicationLag",
            "Postgresql replication lag (instance db-02.acme.example:9187)",
            "PostgreSQL replication lag is going up (> 30s)",
            expr="pg_replication_lag > 30",
        ),
    ),
    case(
        "zbx-mysql-replication",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "MySQL: Replication lag is too high (over 30m)",
            item_key="mysql.seconds_behind_master",
            item_name="MySQL: Seconds behind master",
            severity="Warning",
        ),
    ),
    case(
        "ru-zbx-replication",
        "fault",
        None,
        lambda: zbx_alert(
            "Репликация PostgreSQL на db-02 отстаёт на 5 минут",
            item_key="pgsql.replication.lag.sec",
            severity="Average",
        ),
    ),
    # --- faults: capacity, backups, saturation ------------------------------------------------------------
    case(
        "am-fs-almost-full",
        "fault",
        "capacity",
        lambda: am_alert(
            "NodeFilesystemAlmostOutOfSpace",
            "Filesystem /var on app-01 has less than 10% space left",
            "Only 7.3% of /var is available.",
            expr='node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes * 100 < 10',
        ),
    ),
    case(
        "zbx-disk-space-low",
        "fault",
        "capacity",
        lambda: zbx_alert(
            "/var: Disk space is critically low (used > 90%)",
            item_key="vfs.fs.size[/var,pused]",
            item_name="/var: Space utilization",
            severity="Average",
            opdata="Space used: 46.2 GB of 50 GB (92.4 %)",
        ),
    ),
    case(
        "zbx-windows-space-low",
        "fault",
        "capacity",
        lambda: zbx_alert(
            "FS [C:]: Space is critically low (used > 90%, total 100GB)",
            item_key="vfs.fs.dependent.size[C:,pused]",
            item_name="FS [C:]: Space: Used, in %",
            severity="Average",
        ),
    ),
    case(
        "ru-zbx-space-low",
        "fault",
        "capacity",
        lambda: zbx_alert(
            "Заканчивается место на диске D: сервера srv-1c", item_key="vfs.fs.size[D:,pfree]", severity="Average"
        ),
    ),
    case(
        "am-backup-failed",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "BackupJobFailed",
            "Nightly backup of db-01 failed",
            "restic exited with code 1.",
            expr="restic_backup_success == 0",
            severity="critical",
        ),
    ),
    case(
        "zbx-veeam-backup-failed",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert(
            "Veeam: Backup job 'DB nightly' failed", item_key="veeam.job.result[DB nightly]", severity="High"
        ),
    ),
    case(
        "ru-zbx-backup-failed",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert("Ошибка резервного копирования базы 1С", item_key="backup.status[1c]", severity="High"),
    ),
    case(
        "zbx-high-cpu",
        "fault",
        "saturation",
        lambda: zbx_alert(
            "High CPU utilization (over 90% for 5m)",
            item_key="system.cpu.util",
            item_name="CPU utilization",
            severity="Warning",
            opdata="Current utilization: 97.3 %",
        ),
    ),
    case(
        "am-high-load",
        "fault",
        "saturation",
        lambda: am_alert(
            "HostHighCpuLoad",
            "Host high CPU load (instance app-01.acme.example:9100)",
            "CPU load is > 80%",
            expr='sum by (instance) (avg by (mode, instance) (rate(node_cpu_seconds_total{mode!="idle"}[2m]))) > 0.8',
        ),
    ),
    case(
        "ru-zbx-high-cpu",
        "fault",
        "saturation",
        lambda: zbx_alert("Высокая загрузка процессора на srv-app01", item_key="system.cpu.util", severity="Average"),
    ),
    case(
        "zbx-memory",
        "fault",
        "capacity",
        lambda: zbx_alert(
            "High memory utilization (>90% for 5m)", item_key="vm.memory.utilization", severity="Average"
        ),
    ),
    # --- faults: monitoring itself, time ------------------------------------------------------------------
    case(
        "zbx-agent-unavailable",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Zabbix agent is not available (for 3m)",
            item_key="agent.ping",
            item_name="Zabbix agent availability",
            severity="Average",
        ),
    ),
    case(
        "am-exporter-down",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "PostgresExporterDown",
            "postgres_exporter on db-01 is down",
            "Prometheus cannot scrape postgres_exporter on db-01.",
            expr='up{job="postgres"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-target-missing",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "PrometheusTargetMissing",
            "Prometheus target missing (instance app-01.acme.example:9100)",
            "A Prometheus target has disappeared. An exporter might be crashed.",
            expr="up == 0",
            severity="critical",
        ),
    ),
    case(
        "ru-zbx-agent-unavailable",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Агент Zabbix на srv-01 недоступен",
            item_key="agent.ping",
            item_name="Доступность агента Zabbix",
            severity="Average",
        ),
    ),
    case(
        "ru-zbx-no-data",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Нет данных от srv-01 более 10 минут", item_key="agent.ping", severity="Average"),
    ),
    case(
        "am-clock-skew",
        "fault",
        "time-sync",
        lambda: am_alert(
            "NodeClockSkewDetected",
            "Clock skew detected on app-01",
            "Clock on app-01 is out of sync by more than 0.05s. Ensure NTP is configured correctly on this host.",
            expr="node_timex_offset_seconds > 0.05",
        ),
    ),
    case(
        "zbx-ntp-service",
        "fault",
        "time-sync",
        lambda: zbx_alert(
            "Windows: NTP service is unavailable",
            item_key="net.udp.service[ntp]",
            item_name="NTP service state",
            severity="Warning",
        ),
    ),
    case(
        "zbx-time-out-of-sync",
        "fault",
        None,
        lambda: zbx_alert(
            "System time is out of sync (diff with Zabbix server > 60s)",
            item_key="system.localtime[utc]",
            item_name="System local time",
            severity="Warning",
        ),
    ),
    case(
        "ru-zbx-ntp-drift",
        "fault",
        "time-sync",
        lambda: zbx_alert(
            "Расхождение времени с NTP-сервером более 60 секунд", item_key="ntp.offset", severity="Warning"
        ),
    ),
    # --- faults: informational ---------------------------------------------------------------------------
    case(
        "zbx-restarted",
        "fault",
        "change-or-restart",
        lambda: zbx_alert(
            "srv-01 has been restarted (uptime < 10m)",
            item_key="system.uptime",
            item_name="System uptime",
            severity="Warning",
        ),
    ),
    case(
        "am-cert-expiring",
        "fault",
        "certificate-expiring",
        lambda: am_alert(
            "BlackboxSslCertificateWillExpireSoon",
            "Blackbox SSL certificate will expire soon (instance https://www.acme.example)",
            "SSL certificate expires in less than 20 days",
            expr="3 <= round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 20",
        ),
    ),
    case(
        "zbx-cert-expires-soon",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert(
            "Cert: SSL certificate expires soon (less than 7 days)",
            item_key="web.certificate.get[www.acme.example,443]",
            item_name="Cert: Last validity date",
            severity="Warning",
        ),
    ),
    case(
        "ru-zbx-cert-expiring",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert(
            "Сертификат shop.globex.ru истекает через 10 дней",
            item_key="web.certificate.get[shop.globex.ru]",
            severity="Warning",
        ),
    ),
    # --- stores that stopped taking writes, lost data copies, shed load -----------------------------
    case(
        "am-stop-writes",
        "incident",
        "writes-stopped",
        lambda: am_alert(
            "NamespaceStopWrites",
            "Stop writes for db-3:9145/users",
            "Used disk space for namespace users is above the stop writes limit.",
            expr="aerospike_namespace_stop_writes == 1",
            severity="critical",
        ),
    ),
    case(
        "am-rabbitmq-disk-alarm",
        "incident",
        "writes-stopped",
        lambda: am_alert(
            "RabbitMqDiskSpaceAlarm",
            "RabbitMQ is out of disk space",
            "The node hit its disk free limit and has cut off publishers.",
            expr="rabbitmq_node_disk_free_alarm == 1",
        ),
    ),
    case(
        "zbx-partitions-without-copy",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            "Cache group [sessions]: There is no copy for partitions", "jmx[MinimumNumberOfPartitionCopies]"
        ),
    ),
    case(
        "am-requests-shed",
        "incident",
        "errors-now",
        lambda: am_alert(
            "ShedRequests", "More than 1% of client requests are shed", expr="rate(requests_shed[1m]) > 0"
        ),
    ),
    case(
        "am-client-transactions-timing-out",
        "incident",
        "errors-now",
        lambda: am_alert(
            "ClientTimeouts",
            "Client transactions are timing out",
            "Timeouts can occur during network issues or resource contention.",
        ),
    ),
    case(
        "am-cluster-health-red",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert("SearchClusterNotHealthy", "Cluster health status is RED", severity="critical"),
    ),
    case(
        "zbx-failed-job-runs",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert("Veeam Manager: Failed job runs is too high", "veeam.manager.failed.jobs", severity="High"),
    ),
    case(
        "zbx-table-growth",
        "fault",
        "capacity",
        lambda: zbx_alert("MariaDB: Table [shop/orders]: Total size growth is too high", severity="High"),
    ),
    case(
        "am-bmc-not-replying-to-monitoring",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "ServerNotReporting",
            "Hardware server failed to reply to monitoring via Redfish API.",
            expr='up{job="idrac"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-osd-disk-not-responding",
        "fault",
        "physical-disk-failed",
        lambda: am_alert("CephOSDDiskNotResponding", "Disk not responding", "Disk device /dev/sdb not responding."),
    ),
    case(
        "am-certbot-failed",
        "fault",
        "certificate-expiring",
        lambda: am_alert("SSLCertExpires", "certbot failed at https://api.example.com", "SSL cert expires in 18 days."),
    ),
    case(
        "am-sidekiq-down",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("SidekiqJobDown", "Job system-sidekiq on prod is DOWN", expr='up{job="sidekiq"} == 0'),
    ),
    # --- arrays that crashed, UPS batteries running low, held mail; HA helpers, job results, pressure ----
    case(
        "zbx-raid-crashed",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Raid status on nas-01: crashed", "raidStatus.1", severity="Disaster"),
    ),
    case(
        "zbx-offline-virtual-devices",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Offline Virtual devices on MegaRAID adapter 0", "adpVdOfflineCount.0", severity="High"),
    ),
    case(
        "am-ups-battery-running-low",
        "incident",
        "ups-power-lost",
        lambda: am_alert("UPSBatteryLow", "UPS battery is running low.", "UPS ups1 battery is running low."),
    ),
    case(
        "zbx-ups-output-not-powered",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS: Output not powered", "upsOutputSource", severity="High"),
    ),
    case(
        "zbx-postfix-held-mail",
        "incident",
        "errors-now",
        lambda: zbx_alert("Postfix: High number of held mails", "postfix[hold]", severity="Warning"),
    ),
    case(
        "zbx-galera-not-primary",
        "incident",
        "quorum-or-leader-lost",
        lambda: zbx_alert("Galera node is not in Primary component", "mysql.wsrep_cluster_status", severity="High"),
    ),
    case(
        "zbx-keepalived-not-running",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Keepalived process is not running", "proc.num[keepalived]", severity="High"),
    ),
    case(
        "zbx-veeam-no-job-result",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert("VeeamAgent - No job result since 1 Week", "eventlog[Veeam Agent]", severity="High"),
    ),
    case(
        "am-io-pressure",
        "fault",
        "saturation",
        lambda: am_alert("IOPressure", "Host IO pressure", "IO pressure is > 90% for 30m.", severity="critical"),
    ),
    case(
        "zbx-storage-controller-abnormal",
        "fault",
        "hardware-health",
        lambda: zbx_alert("Controller B: State is abnormal", "nimble.controller.state[B]", severity="High"),
    ),
    case(
        "am-replica-io-thread-expr",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "MysqlReplication",
            "MysqlReplication",
            "Replica threads have been stoped on db02.",
            expr="mysql_slave_status_slave_sql_running == 0",
            severity="critical",
        ),
    ),
    case(
        "am-es-memory-breakers",
        "fault",
        "saturation",
        lambda: am_alert(
            "ElasticBreakers",
            "ElasticBreakers",
            "Elasticsearch field data breakers tripped 3 times.",
            expr="rate(elasticsearch_breakers_tripped[5m]) > 0",
            severity="high",
        ),
    ),
    case(
        "am-consumer-group-lag",
        "fault",
        "saturation",
        lambda: am_alert("KafkaLag", "KafkaLag", "Kafka consumers group lag is 5400.", severity="high"),
    ),
    case(
        "am-systemd-any-unit-inactive",
        "fault",
        "os-service-stopped",
        lambda: am_alert(
            "UnitInactive",
            "UnitInactive",
            "A unit is inactive.",
            expr='node_systemd_unit_state{state="inactive"} == 1',
            severity="high",
        ),
    ),
    case(
        "am-systemd-named-unit-inactive",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "ShopApiDown",
            "shop-api.service is down",
            "The unit is not active for 2 minutes.",
            expr='node_systemd_unit_state{name="shop-api.service", state="active"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-conntrack-approaching",
        "fault",
        "capacity",
        lambda: am_alert(
            "NodeConntrackTableFull",
            "The conntrack table on node n1 is approaching the size limit.",
            "It is at 74% of its limit.",
            severity="warning",
        ),
    ),
    case(
        "am-nodefs-no-more-free-space",
        "incident",
        "storage-offline",
        lambda: am_alert(
            "KubeletNodeFS",
            "No more free space on nodefs of node w1 at /.",
            expr="max by (node) (node_filesystem_avail_bytes) == 0",
        ),
    ),
    case(
        "am-dns-cannot-resolve",
        "incident",
        "errors-now",
        lambda: am_alert("SiteDnsResolution", "SiteDnsResolution", "gw01 cannot resolve example.org through 9.9.9.9."),
    ),
    case(
        "am-ipmi-access-down",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "IPMIAccessDown", "IPMIAccessDown", "No IPMI connections possible in rack 4.", severity="critical"
        ),
    ),
    case(
        "am-periodic-task-no-success",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "TaskNoSuccess", "cleanup periodic task has not succeeded in more than 24 hours.", severity="critical"
        ),
    ),
    case(
        "am-gpu-errors",
        "fault",
        "hardware-or-infra-errors",
        lambda: am_alert("GPUErrors", "Node gpu-3 has GPU errors", "Diagnostics found errors.", severity="critical"),
    ),
    case(
        "zbx-ups-input-voltage-off",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS Input Voltage is OFF", "upsInputVoltage", "Input Voltage", severity="Disaster"),
    ),
    case(
        "zbx-1c-server-agent-service",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Состояние службы 1C:Enterprise 8.3 Server Agent",
            "service_state[1C:Enterprise 8.3 Server Agent]",
            severity="High",
            opdata="Текущее состояние: остановлена",
        ),
    ),
    case(
        "zbx-state-table-used-at",
        "fault",
        "capacity",
        lambda: zbx_alert("Firewall state table used at 90%", "pf.states.pused", severity="High"),
    ),
    case(
        "zbx-backup-repository-gb-left",
        "fault",
        None,
        lambda: zbx_alert("Less than 5Gb remaining on the repository NAS02", "vbr[RepoFree]", severity="High"),
    ),
    case(
        "zbx-bacula-director-stopped",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert("Bacula Director stopped on bkp01", "proc.num[bacula-dir]", severity="High"),
    ),
    case(
        "zbx-failed-logical-drives",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Controller 0 has failed logical drives on srv-01", "raid.ld_failed[0]"),
    ),
    case(
        "zbx-raid-bbu-not-online",
        "fault",
        "hardware-health",
        lambda: zbx_alert("Controller 0 BBU not online on srv-01", "adaptec.bbu.status[0]"),
    ),
    case(
        "zbx-exchange-retry-queue",
        "incident",
        "errors-now",
        lambda: zbx_alert("Retry Remote Delivery Queue Length too high", "perf_counter[Retry Queue]", severity="High"),
    ),
    case(
        "zbx-ups-battery-critical",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "UPS - Battery Critical!", "ups.batterypercent", description="Less than 5% of battery is left."
        ),
    ),
    case(
        "zbx-cert-expired-lifetime-item",
        "incident",
        "certificate-expired",
        lambda: zbx_alert(
            "HTTPS certificate on www.acme.example expired", "ssl.check[www.acme.example,lifetime]", severity="Disaster"
        ),
    ),
    case(
        "zbx-cert-less-than-days",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert("HTTPS certificate on www.acme.example less than 7 days", severity="High"),
    ),
    case(
        "zbx-access-point-unreachable",
        "fault",
        "cluster-member",
        lambda: zbx_alert("UniFi AP-Floor2 unreachable for 20 min", "device.status[ap2]", severity="Warning"),
    ),
    case(
        "zbx-pve-node-not-online",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Node pve02 not online on pve-cluster01", "proxmox.node.online[pve02]", severity="High"),
    ),
    case(
        "zbx-ipsec-peer-traffic-stopped",
        "incident",
        "link-down",
        lambda: zbx_alert("IPSec Peer 203.0.113.9 traffic stopped", "ipsec.peer.bytes.out[2]"),
    ),
    case(
        "zbx-rdp-port-down",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("RDS Port is down on rds01", "net.tcp.listen[3389]", severity="High"),
    ),
    case(
        "zbx-rd-gateway-service",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            'Service "TSGateway" (Remote Desktop Gateway) is not running', "service_state[TSGateway]", severity="High"
        ),
    ),
    case(
        "zbx-dataset-not-mounted",
        "incident",
        "storage-offline",
        lambda: zbx_alert("Dataset not mounted [tank/shares]", "zfs.mount[tank/shares]"),
    ),
    case(
        "zbx-dataset-quota-reached",
        "incident",
        "writes-stopped",
        lambda: zbx_alert("Dataset quota reached on [tank/home]", "zfs.free[tank/home]", severity="Warning"),
    ),
    case(
        "zbx-toner-low",
        "fault",
        "capacity",
        lambda: zbx_alert("Toner very low - Black < 5%", "printer.toner.level[1]", severity="High"),
    ),
    case(
        "am-galera-size-below",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "GaleraSize", "db1 is missing Galera instances", expr="mysql_global_status_wsrep_cluster_size < 3"
        ),
    ),
    case(
        "am-no-streaming-replicas",
        "fault",
        "cluster-member",
        lambda: am_alert("PgNoReplicas", "PostgreSQL has no streaming replicas", severity="critical"),
    ),
    case(
        "am-resolvers-one-or-more-down",
        "fault",
        "cluster-member",
        lambda: am_alert("ResolverDown", "DNS resolvers: one or more nodes down", expr="unbound_up == 0"),
    ),
    case(
        "am-partial-outage-one-remains",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "RadiusPartial",
            "RADIUS partial outage in site west",
            "Some RADIUS instances are down, but at least one instance remains available.",
        ),
    ),
    case(
        "am-config-load-failed",
        "fault",
        "change-or-restart",
        lambda: am_alert(
            "ProxyConfigError",
            "Proxy config error.",
            "The proxy has failed to load the config file.",
            severity="critical",
        ),
    ),
    case(
        "am-helmrelease-not-ready",
        "fault",
        "change-or-restart",
        lambda: am_alert("HelmReleaseFailed", "HelmRelease shop in prod is not ready", severity="critical"),
    ),
    case(
        "am-pending-migrations",
        "fault",
        "change-or-restart",
        lambda: am_alert("PendingMigrations", "Pending database migrations", severity="critical"),
    ),
    case(
        "am-external-dns-not-synced",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "ExternalDNSStale", "ExternalDNS has not synced in the last five minutes", severity="critical"
        ),
    ),
    case(
        "am-ssh-connection-failure",
        "fault",
        "tooling-down",
        lambda: am_alert("SshFailure", "SSH connection failure", expr="ssh_success != 1"),
    ),
    case(
        "am-registry-rate-limit-risk",
        "fault",
        "saturation",
        lambda: am_alert(
            "RegistryRateLimit", "120 containers pull from the registry: rate limiting ahead", severity="critical"
        ),
    ),
    case(
        "am-failed-system-tasks",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("FailedSystemTasks", "Failed system tasks", severity="critical"),
    ),
    case(
        "am-upstream-returning-429",
        "incident",
        "user-path-errors",
        lambda: am_alert("UpstreamQuota", "Gateway returning 429 for model x (quota)", severity="warning"),
    ),
    case(
        "am-absent-service-is-down",
        "incident",
        None,
        lambda: am_alert(
            "HomeAssistantAbsent", "Home Assistant is down.", expr='absent(up{job="hass"} == 1)', severity="critical"
        ),
    ),
    case(
        "am-exim-queue-not-empty",
        "incident",
        "errors-now",
        lambda: am_alert("EximQueue", "Exim non-empty queue", "14 messages in the exim queue.", expr="exim_queue != 0"),
    ),
    case(
        "am-windows-service-exclusion-list",
        "fault",
        "os-service-stopped",
        lambda: am_alert(
            "WindowsServiceDown",
            "Service wsearch down on 10.0.0.20",
            "An auto-start Windows service stopped.",
            expr='windows_service_status{name!~"MSSQLSERVER|DNS|NTDS", status="running", start_mode="auto"} == 0',
        ),
    ),
    case(
        "am-windows-named-mssql-service",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "SqlServiceDown",
            "Service down on db01",
            expr='windows_service_status{name="mssqlserver", status="running"} == 0',
            severity="critical",
        ),
    ),
    case(
        "zbx-idle-time-low",
        "fault",
        "saturation",
        lambda: zbx_alert("Idle time less 10% on C:", "DiskParam.get[0,C:,IdleTime]", severity="High"),
    ),
    case(
        "zbx-opdata-current-threshold-is-not-a-sensor",
        "incident",
        "storage-offline",
        lambda: zbx_alert(
            "Sessions suspended due to lack of space in tablespace",
            "oracle.instance.resumable",
            severity="Disaster",
            opdata="current: 3, threshold: 1",
        ),
    ),
    case(
        "zbx-dns-recursion-time",
        "incident",
        "user-path-latency",
        lambda: zbx_alert("Unbound: Average recursion time > 500ms", "unbound.total_recursion_time_avg"),
    ),
    case(
        "zbx-security-updates-pending",
        "fault",
        "change-or-restart",
        lambda: zbx_alert("APT: Security updates pending for 7 days", "apt.updates.security", severity="High"),
    ),
    case(
        "zbx-ldap-auth-check-failed",
        "incident",
        None,
        lambda: zbx_alert("LDAP Authentication failed on ldap01", "ldap.authresult[ldap01]", severity="High"),
    ),
    case(
        "zbx-mailflow-missing",
        "incident",
        "errors-now",
        lambda: zbx_alert("Mailflow - missing incoming messages", "mailflow.missing"),
    ),
    case(
        "zbx-session-licence-limit",
        "incident",
        "user-path-errors",
        lambda: zbx_alert("Terminal server licence limit reached", "ts.sessioncount", severity="Warning"),
    ),
    case(
        "zbx-ipsec-daemon-not-running",
        "incident",
        "link-down",
        lambda: zbx_alert("IPSEC daemon not running on fw01", "proc.num[charon]", severity="High"),
    ),
    case(
        "zbx-bgp-peer-as-down",
        "incident",
        "link-down",
        lambda: zbx_alert("Peer 192.0.2.1 - AS64500 is DOWN", "BgpPeerState[192.0.2.1]"),
    ),
    case(
        "zbx-bgp-prefixes-lost-share",
        "fault",
        None,
        lambda: zbx_alert("BGP peer 192.0.2.1 has lost more than 20% of received prefixes", severity="Warning"),
    ),
    case(
        "zbx-mssql-database-suspect",
        "incident",
        "storage-offline",
        lambda: zbx_alert("SQL Instance SQL01 Database ERP: Status SUSPECT", "mssql.db.status[ERP]", severity="High"),
    ),
    case(
        "zbx-mssql-hang",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("SQL Instance MSSQLSERVER: SQL Server hang condition", "eventlog[Application]"),
    ),
    case(
        "zbx-pdu-overload",
        "fault",
        "ups-or-power-quality",
        lambda: zbx_alert("APC PDU Load State", "rPDU2DeviceStatusLoadState.1", severity="High"),
    ),
    case(
        "zbx-timeserver-down",
        "fault",
        "time-sync",
        lambda: zbx_alert("Timeserver is down on ntp01", "proc.num[ntpd]", severity="High"),
    ),
    case(
        "zbx-ups-output-source-not-normal",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS Output Source non-normal", "ups.output.source", severity="High"),
    ),
    case(
        "zbx-pt-disk-problem",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert("Problema com o disco 2", "DiskStatus.[2]", severity="Disaster"),
    ),
    case(
        "zbx-pt-pppoe-drop",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("Queda de 200 sessões PPPoE", "pppoe.online"),
    ),
    case(
        "zbx-pt-ups-battery-mode",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("Nobreak em modo bateria", "ups.battery.time"),
    ),
    case(
        "zbx-pt-cert-expires-days",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert("Certificado para portal:443 expira em 7 dias", "cert.expira[portal]", severity="High"),
    ),
    case(
        "zbx-optical-rx-power-low",
        "fault",
        "temperature-warning",
        lambda: zbx_alert("Interface Gi0/1: Rx Power very low", "optical.rx.power[1]", severity="Disaster"),
    ),
    case(
        "zbx-msa-down-partner",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Controller A redundancy status Redundant (down partner)", "msa.ctrl[a,redundancy]"),
    ),
    case(
        "am-pgbouncer-is-not-a-mail-bounce",
        "fault",
        None,
        lambda: am_alert("PgBouncerWaitingClients", "PgBouncer has waiting clients on db-0", severity="warning"),
    ),
    case(
        "am-pgbouncer-max-client-conn",
        "incident",
        "errors-now",
        lambda: am_alert(
            "PgBouncerMaxClients",
            "PgBouncerMaxClients",
            expr='rate(pgbouncer_errors_count{errmsg="no more connections allowed (max_client_conn)"}[1m]) > 0',
        ),
    ),
    case(
        "am-cluster-replica-down",
        "fault",
        None,
        lambda: am_alert("MysqlClusterDown", "Percona XtraDB Cluster replica is down", expr="mysql_up == 0"),
    ),
    case(
        "am-exporter-cannot-reach-db",
        "incident",
        "endpoint-down",
        lambda: am_alert("PgIsUp", "postgres_exporter is unable to communicate with the database", expr="pg_up < 1"),
    ),
    case(
        "am-connections-share-of-max",
        "fault",
        "capacity",
        lambda: am_alert(
            "PgConnections", "Postgres connections above 90% of the configured max_connections", severity="critical"
        ),
    ),
    case(
        "am-cassandra-dropped-messages",
        "fault",
        None,
        lambda: am_alert(
            "CassandraDroppedMessages",
            "Dropped messages",
            expr="sum(increase(cassandra_droppedmessage_dropped[5m])) > 0",
        ),
    ),
    case(
        "am-queries-hit-memory-limit",
        "incident",
        "user-path-errors",
        lambda: am_alert("MemoryLimitExceeded", "Memory limit exceeded", "Queries are hitting memory limits on ch-01."),
    ),
    case(
        "am-pgbouncer-client-wait-time",
        "incident",
        "user-path-latency",
        lambda: am_alert(
            "PgBouncerWait", "PgBouncer time spent by clients waiting for a connection is too high", severity="warning"
        ),
    ),
    case(
        "am-es-master-not-reachable",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert("ESMasterNotReachable", "Search cluster master node is not reachable", severity="critical"),
    ),
    case(
        "am-read-tickets-low",
        "fault",
        "saturation",
        lambda: am_alert("MongodbReadTickets", "MongoDB read tickets less than 10", severity="critical"),
    ),
    case(
        "am-scheduler-down",
        "fault",
        "tooling-down",
        lambda: am_alert("SchedulerDown", "The VM scheduler is down on ctl-01", severity="critical"),
    ),
    case(
        "am-too-many-mutations",
        "fault",
        "saturation",
        lambda: am_alert("TooManyMutations", "Too many mutations queued on ch-01", severity="critical"),
    ),
    case(
        "am-too-many-leaders-is-split-brain",
        "incident",
        None,
        lambda: am_alert("ZookeeperTooManyLeaders", "Zookeeper too many leaders (split brain)", severity="critical"),
    ),
    case(
        "zbx-ups-onbatt",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS Discharging: ONBATT", "ups.status", severity="High"),
    ),
    case(
        "zbx-agent-scripts-path-is-not-the-agent",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "Database ERP on Instance MSSQLSERVER is not running",
            'system.run["C:\\Program Files\\Zabbix Agent\\scripts\\db_status.ps1"]',
            severity="High",
        ),
    ),
    case(
        "zbx-cn-disk-marked-failed",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert("硬盘 [5] 已标记为 failed", "drive.role[5]", severity="High"),
    ),
    case(
        "zbx-power-state-not-on",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("System power state is not On for srv-db01", "redfish.system.powerstate"),
    ),
    case(
        "zbx-pool-zero-active-members",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Pool active member count is zero on /Common/web", "ltmPoolActiveMemberCnt"),
    ),
    case(
        "zbx-vm-heartbeat-failed",
        "incident",
        "workload-stopped",
        lambda: zbx_alert("VM APP01: Heartbeat failed while VM is running", "hyperv.vm.heartbeat[app01]"),
    ),
    case(
        "zbx-cert-expiredate-item",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert("edge01 ssl expiring /etc/ssl/api.crt", "ssl.cert.expiredate[/etc/ssl/api.crt]"),
    ),
    case(
        "am-http-status-not-2xx",
        "incident",
        "errors-now",
        lambda: am_alert(
            "StatusCode",
            "Status Code (instance https://shop.example/login)",
            "HTTP status code is not 200-399",
            expr="probe_http_status_code <= 199 OR probe_http_status_code >= 400",
        ),
    ),
    case(
        "am-icmp-probe-failed-named-packet-loss",
        "incident",
        None,
        lambda: am_alert("ProbePacketLoss", "ICMP probe failed to 192.0.2.20", expr='probe_success{job="icmp"} == 0'),
    ),
    case(
        "am-blackbox-exporter-down",
        "fault",
        "monitoring-component",
        lambda: am_alert("BlackboxInstanceDown", "Blackbox down (instance bb:9115)", expr='up{job="blackbox"} == 0'),
    ),
    case(
        "am-cn-service-unhealthy",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "MssqlDown",
            "[P0]-Mssqlserver服务不健康",
            expr='windows_service_status{status="ok",name="mssqlserver"} == 0',
        ),
    ),
    # --- stacks, HA peers, redundancy that the alert itself describes -----------------------------
    case(
        "zbx-stack-member-not-active",
        "fault",
        None,
        lambda: zbx_alert("Stack member 3 not active", "hpStackSwitchOperStatus[3]", "Stack member status"),
    ),
    case(
        "zbx-ha-peer-not-standby",
        "fault",
        "cluster-member",
        lambda: zbx_alert("WLC HA peer is not standby hot", "cisco.ha.peer.state", "HA peer state", severity="High"),
    ),
    case(
        "zbx-ha-config-unsynchronized",
        "fault",
        "cluster-member",
        lambda: zbx_alert("HA - fw-01 - UnSynchronized", "fgHaStatsSyncStatus", "HA sync status", severity="High"),
    ),
    case(
        "zbx-module-redundancy",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Enclosure management module redundancy", "cpqRackManagerRedundant[1]", severity="High"),
    ),
    case(
        "zbx-redundancy-factor",
        "fault",
        "cluster-member",
        lambda: zbx_alert("HCI cluster: Redundancy factor mismatched", "hci.cluster.rf.current"),
    ),
    case(
        "am-standby-will-take-over",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "DhcpPrimaryDown",
            "Primary DHCP server dhcp-a is down",
            "Probe to dhcp-a failing for 5 minutes. The standby dhcp-b should take over serving leases.",
            expr='probe_success{instance="dhcp-a"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-lose-dns-only-if-both-fail",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "ResolverDown",
            "Resolver 10.0.0.53 is down",
            "Clients lose name resolution only if both resolvers fail.",
            expr='probe_success{job="dns"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-existing-workloads-continue",
        "fault",
        None,
        lambda: am_alert(
            "NetworkControllerInactive",
            "Network controller 10.0.1.7 is not active",
            "New pods may not get networking.\nExisting workloads should\ncontinue to have connectivity.",
            expr="sdn_controller_status != 1",
            severity="critical",
        ),
    ),
    case(
        "am-etcd-server-down-member",
        "fault",
        "cluster-member",
        lambda: am_alert("EtcdServerDown", "etcd-2 is down", expr="etcd_up < 1", severity="critical"),
    ),
    case(
        "am-openstack-agent-state",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "L3AgentState",
            "Neutron agent down on net-02",
            expr='openstack_neutron_agent_state{adminState="up"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-mediator-unreachable",
        "fault",
        "cluster-member",
        lambda: am_alert("MediatorStatus", "Array pod mediator is unreachable", expr="array_pod_mediator_status != 1"),
    ),
    # --- power: input lost, batteries low, breakers tripped; tests and diagnostics ------------------
    case(
        "zbx-no-power-input",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "No power input", "upsAdvInputLineVoltage", "Input voltage", description="Input voltage is zero"
        ),
    ),
    case(
        "zbx-battery-charge-critically-low",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("Battery charge critically low", "upsAdvBatteryCapacity", "Battery charge"),
    ),
    case(
        "zbx-raid-controller-battery-charge-low",
        "fault",
        None,
        lambda: zbx_alert("RAID controller battery charge low", "raid.ctrl.battery.charge"),
    ),
    case(
        "zbx-pdu-breaker-tripped",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "Trip on Over Current Protector B1",
            "pdu.protector.trip[1]",
            description="This Over Current Protector tripped or the sensor is broken",
        ),
    ),
    case(
        "zbx-ups-self-test-failed",
        "fault",
        "ups-or-power-quality",
        lambda: zbx_alert(
            "Test Failed", "ups_diagnostics.testResults", "Last diagnostics test result", severity="High"
        ),
    ),
    # --- saturation and capacity in other words ----------------------------------------------------
    case(
        "zbx-connections-in-use-80",
        "fault",
        None,
        lambda: zbx_alert("fw-01 Connections In Use > 80 %", "cfwConnectionStatValueCurrentInUse", severity="High"),
    ),
    case(
        "zbx-pt-cpu-usage",
        "fault",
        "saturation",
        lambda: zbx_alert("Uso da CPU igual a 100%", "fgSysCpuUsage", "Uso de CPU do sistema", severity="High"),
    ),
    case(
        "zbx-pt-packet-loss",
        "fault",
        "saturation",
        lambda: zbx_alert("Verifique a Internet do fw-02, há perda de pacotes", "icmppingloss", severity="High"),
    ),
    case(
        "zbx-dhcp-low-free-ips",
        "fault",
        "capacity",
        lambda: zbx_alert(
            "DHCP: Scope [10.1.0.0]: Critical low free IPs",
            "dhcp.used.percent[10.1.0.0]",
            description="Less than 5% of addresses are free. Act now to prevent service disruption.",
            severity="High",
        ),
    ),
    case(
        "am-subnet-exhausted",
        "incident",
        "user-path-errors",
        lambda: am_alert(
            "SubnetExhausted", "10.9.0.0/24 has exhausted all IPs", "No more IPs to allocate", severity="critical"
        ),
    ),
    case(
        "zbx-tablespace-full-100",
        "incident",
        "storage-offline",
        lambda: zbx_alert("Tablespace DATA full => 100 %", "db.oracle.tablespace.pct_used[DATA]"),
    ),
    case(
        "zbx-max-connections-reach-100",
        "incident",
        "errors-now",
        lambda: zbx_alert(
            "MySQL: Maximum Connection Limit reach 100%",
            "mysql.threads_connected",
            "Threads connected",
            description="Once the limit is reached no other user connections can be established and errors occur.",
        ),
    ),
    case(
        "zbx-max-concurrent-calls",
        "incident",
        "user-path-errors",
        lambda: zbx_alert("Maximum concurrent calls reached", "pbx.calls.active", "Active calls"),
    ),
    case(
        "am-topic-depth",
        "fault",
        "saturation",
        lambda: am_alert("QueueTopicDepth", "Topic depth is increasing", "Topic events depth is higher than 100."),
    ),
    case(
        "am-control-plane-cpu-headroom",
        "fault",
        "saturation",
        lambda: am_alert(
            "HighOverallControlPlaneCPU",
            "CPU use of the control plane nodes is higher than two nodes can sustain; an outage of one may cause a "
            "cascading failure",
            severity="warning",
        ),
    ),
    case(
        "am-load-balancer-latency",
        "incident",
        "latency-breach",
        lambda: zbx_alert("Application Load Balancer: High P95 latency", "lb.p95.latency", "P95 latency"),
    ),
    case(
        "am-frequent-gc",
        "fault",
        "saturation",
        lambda: am_alert("FrequentGen2Gc", "Frequent Gen2 GC in billing", expr="rate(gc_collections_total[5m]) > 0.5"),
    ),
    # --- monitoring, management and jobs -----------------------------------------------------------
    case(
        "zbx-no-api-data",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("No API data for 5 minutes", "fw.api.neighbors", severity="High"),
    ),
    case(
        "zbx-tunnel-not-up-or-no-data",
        "incident",
        "link-down",
        lambda: zbx_alert("Status of tunnel 198.51.100.1---203.0.113.9 not up or no data received", "cikeTunStatus[1]"),
    ),
    case(
        "am-vmagent-dropping",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "PersistentQueueIsDroppingData",
            "Instance vmagent-0:8429 is dropping data from persistent queue",
            expr="increase(vm_persistentqueue_bytes_dropped_total[5m]) > 0",
            severity="critical",
        ),
    ),
    case(
        "am-commented-expression",
        "fault",
        None,
        lambda: am_alert(
            "NoControllerLeader",
            "There is no network controller leader",
            "Existing workloads should continue to have connectivity.",
            expr="# failed scrapes could give false negatives\nmax(max_over_time(ctrl_leader[5m])) == 0",
            severity="critical",
        ),
    ),
    case(
        "zbx-netconf-unavailable",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Juniper MX: NETCONF is not available", "junos.netconf.ping", severity="High"),
    ),
    case(
        "zbx-sql-agent-not-running",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert(
            "SQL Default Instance: Service state SQL Agent (MSSQLSERVER) is not running",
            "service_state[SQLServerAgent]",
            severity="High",
        ),
    ),
    case(
        "zbx-job-did-not-occur",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert("Job Nightly-Logs did not occur last 52h", "trap.jobstatus[Nightly-Logs]", severity="High"),
    ),
    case(
        "zbx-audit-log-cleared",
        "fault",
        "change-or-restart",
        lambda: zbx_alert("The audit log was cleared.", "eventlog[Security,,,,^1102$]", severity="High"),
    ),
    case(
        "am-unclean-shutdown-restart",
        "fault",
        "change-or-restart",
        lambda: am_alert("UncleanRestart", "storage-2 started after an unclean shutdown", severity="warning"),
    ),
    case(
        "zbx-management-console-down",
        "fault",
        "tooling-down",
        lambda: zbx_alert("PBX Management Console Service is not running", "proc.num[,,,PbxManagementConsole]"),
    ),
    case(
        "am-provisioning-failed",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("StoragePoolCreationFailure", "Provisioner has failed to create a storage pool"),
    ),
    case(
        "am-dns-servfail-rate",
        "incident",
        "user-path-errors",
        lambda: zbx_alert("BIND: High rate of SERVFAILs on ns1", "bind9.nsstats.SERVFAIL"),
    ),
    case(
        "am-swarm-no-running-tasks",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Docker swarm no running tasks for web", "docker.swarm.tasks.running[web]"),
    ),
    case(
        "am-no-alive-workers",
        "incident",
        "redundancy-lost",
        lambda: am_alert("SparkNoAliveWorkers", "Spark no alive workers", expr="aliveWorkers == 0"),
    ),
    case(
        "am-scale-to-zero-no-active-instances",
        "fault",
        None,
        lambda: zbx_alert("Cloud Run Service: No active container instances", "gcp.run.instances.active"),
    ),
    case(
        "zbx-nfs-mount-not-present",
        "incident",
        None,
        lambda: zbx_alert(
            "NFS [/mnt/data]: mount not present or unreachable", "vfs.fs.size[/mnt/data,pfree]", "Free space, %"
        ),
    ),
    # --- vendors' templates: HA helpers, paths, power systems, backup products, management ---------
    case(
        "zbx-ad-replication-error",
        "fault",
        "cluster-member",
        lambda: zbx_alert("1722: The RPC server is unavailable", 'ADReplication["failure",DC02,LastError]'),
    ),
    case(
        "zbx-ha-faulty-state",
        "fault",
        "cluster-member",
        lambda: zbx_alert("HA in faulty state", "fw.ha.state", severity="High"),
    ),
    case(
        "zbx-server-power-off",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("Power Off: esx-07.corp.local", "ome.device[1007.power]", "esx-07: Power State"),
    ),
    case(
        "zbx-api-session-expired",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Session Invalid: mgmt01",
            "ome.session.auth",
            description="The API session has expired or is invalid",
            severity="High",
        ),
    ),
    case(
        "zbx-auth-token-invalid",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Authentication Token for the hypervisor manager is invalid", "xo.token", severity="High"),
    ),
    case(
        "zbx-fc-port-not-active",
        "fault",
        "link-member",
        lambda: zbx_alert("Node: node2 FC port: 4 status is NOT ACTIVE", "fc.port.status[4]", severity="High"),
    ),
    case(
        "zbx-netbackup-pool",
        "fault",
        None,
        lambda: zbx_alert("NETBACKUP: DiskPool dp-01 state is DOWN", "netbackup.diskpool[dp-01]", severity="High"),
    ),
    case(
        "zbx-ups-status-offline",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("ups-room1 Status - Offline", "upsmon[ups-room1,ups.status]"),
    ),
    case(
        "zbx-ups-charge-below-40",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("ups-room1 Charge < 40%", "upsmon[ups-room1,battery.charge]"),
    ),
    case(
        "zbx-ups-charge-below-90",
        "fault",
        None,
        lambda: zbx_alert("ups-room1 Charge < 90%", "upsmon[ups-room1,battery.charge]"),
    ),
    case(
        "zbx-dc-power-battery-discharging",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("Battery discharging", "dcpower.battery.state"),
    ),
    case(
        "zbx-rectifier-fault",
        "fault",
        "power-supply-member",
        lambda: zbx_alert("Rectifier 3: Critical fault", "dcpower.rectifier.status[3]", severity="High"),
    ),
    case(
        "zbx-web-interface-down",
        "fault",
        "tooling-down",
        lambda: zbx_alert("NAS Web Interface is down on nas01", "net.tcp.service[https,,8443]", severity="High"),
    ),
    case(
        "zbx-wsus-clients-update-errors",
        "fault",
        None,
        lambda: zbx_alert("Clients with update errors is detected (7)", "wsus.clients.errors"),
    ),
    case(
        "zbx-last-update-60-days",
        "fault",
        "change-or-restart",
        lambda: zbx_alert("Last update > 60 days", "wu.last.update", severity="High"),
    ),
    case(
        "zbx-mesh-node-offline",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Eero node Upstairs is offline", "eero.node.status[2]", severity="High"),
    ),
    case(
        "zbx-pt-interface-out",
        "fault",
        "link-member",
        lambda: zbx_alert("A Interface de rede 3 esta Fora!", "ifOperStatus.3", severity="Disaster"),
    ),
    case(
        "zbx-pt-ups-on-battery",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("Nobreak operando com a bateria", "upsBasicOutputStatus"),
    ),
    case(
        "zbx-pt-battery-replace",
        "fault",
        "ups-or-power-quality",
        lambda: zbx_alert("Bateria do Nobreak precisa ser trocada", "upsAdvBatteryReplaceIndicator", severity="High"),
    ),
    case(
        "zbx-rstp-blocking",
        "fault",
        "link-member",
        lambda: zbx_alert("RSTP Port 12 Blocking", "dot1dStpPortState.12", severity="High"),
    ),
    case(
        "zbx-ssd-life",
        "fault",
        "smart-predictive",
        lambda: zbx_alert("SSD Life 3 < 50", "hci.ssd.life[3]", severity="High"),
    ),
    case(
        "zbx-memory-status-alarm",
        "fault",
        "hardware-health",
        lambda: zbx_alert("VENDOR_SERVER_MEMORY_STATUS_ALARM", "bmc.memory.status", severity="High"),
    ),
    case(
        "zbx-cert-be-expired-after",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert("Certificate(https://portal.example:443) be expired after 30d.", "cert.days[portal]"),
    ),
    case(
        "zbx-tunnel-network-not-reachable-or-loss",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Network 10.40.0.0/24 via tunnel hq-to-branch is not reachable or there is packet loss", "ipsec.net[1]"
        ),
    ),
    case(
        "zbx-rx-signal-power",
        "fault",
        "temperature-warning",
        lambda: zbx_alert("Rx signal power eth4 low", "hci.nic.rxpower[eth4]", severity="High"),
    ),
    case(
        "zbx-cn-connection-count",
        "fault",
        "saturation",
        lambda: zbx_alert("数据库链接数触发器", "db.connections", severity="High"),
    ),
    case(
        "am-proxy-502",
        "incident",
        "user-path-errors",
        lambda: am_alert(
            "ProxyBadGateway",
            "Proxy is having trouble serving requests for backends",
            expr='sum(rate(proxy_responses_total{code="502"}[5m])) / sum(rate(proxy_responses_total[5m])) > 0.001',
        ),
    ),
    case(
        "am-pods-not-all-ready",
        "fault",
        "cluster-member",
        lambda: am_alert("DashboardPodsAreNotAllInReadyState", "Dashboard pods are not all in ready state"),
    ),
    case(
        "am-snapshot-of-cluster-failed",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "SearchClusterSnapshotFailure", "An automated snapshot for the search cluster failed", severity="critical"
        ),
    ),
    case(
        "am-failure-tolerance",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "VaultFailureToleranceRule",
            "Vault cluster has low failure tolerance and the quorum could be lost.",
            severity="critical",
        ),
    ),
    case(
        "am-writes-being-rejected",
        "incident",
        "writes-stopped",
        lambda: am_alert("StorageDegraded", "Storage is degraded, resulting in writes being rejected."),
    ),
    case(
        "am-leadership-churn",
        "fault",
        "cluster-member",
        lambda: am_alert("RaftLeadershipChanging", "Raft leadership is continually changing", severity="critical"),
    ),
    case(
        "am-sla-uptime-request-failures",
        "incident",
        "errors-now",
        lambda: am_alert(
            "SLAUptime", "The API server has had 100 percent request failures for 300 seconds.", severity="critical"
        ),
    ),
    case(
        "am-router-reload-failed",
        "fault",
        "change-or-restart",
        lambda: am_alert("RouterReloadFail", "Reloads have failed on router-default-1", severity="critical"),
    ),
    case(
        "am-burst-balance",
        "fault",
        "capacity",
        lambda: am_alert("VolumeBurstBalanceLow", "EBS volume burst balance below 20 %", severity="critical"),
    ),
    case(
        "am-storage-node-offline",
        "fault",
        "cluster-member",
        lambda: am_alert("StorageNodeDown", "Storage Node is Offline.", severity="critical"),
    ),
    case(
        "am-synced-followers",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "ZooKeeperSyncedFollowers", "The number of synced followers is less than 2.", severity="critical"
        ),
    ),
    case(
        "am-avoid-imminent-disruption",
        "fault",
        "capacity",
        lambda: am_alert(
            "DatabaseStorageFull",
            "The database has exceeded 90% of its volume capacity. Expand it now to avoid imminent service disruption.",
            severity="critical",
        ),
    ),
    case(
        "am-broker-overloaded",
        "fault",
        "saturation",
        lambda: am_alert("BrokerOverLoaded", "broker overloaded", severity="critical"),
    ),
    case(
        "am-insecure-listener",
        "fault",
        "change-or-restart",
        lambda: am_alert("InsecureHTTPListener", "Listeners must use HTTPS", severity="critical"),
    ),
    case(
        "am-ingress-failed-reload",
        "fault",
        "change-or-restart",
        lambda: am_alert("NginxIngressFailedReload", "Nginx ingress failed reload", severity="critical"),
    ),
    case(
        "am-control-plane-cert-expired",
        "incident",
        "certificate-expired",
        lambda: am_alert(
            "CertificateExpired",
            "Certificate renewal failed",
            expr="(min by (cluster) (control_plane_cert_expiry_days) - time()) / 86400 < 0",
            severity="critical",
        ),
    ),
    case(
        "am-inactive-server-in-cluster",
        "fault",
        "cluster-member",
        lambda: am_alert("InactiveServer", "Found inactive observer in cluster prod.", severity="critical"),
    ),
    case(
        "am-always-firing",
        "fault",
        "monitoring-component",
        lambda: am_alert("AlwaysFiring", "This alert always fires to test the notification path", severity="critical"),
    ),
    case(
        "zbx-control-port-down",
        "fault",
        "tooling-down",
        lambda: zbx_alert("dpi01 control port is down", "net.tcp.service[tcp,,29000]", severity="High"),
    ),
    case(
        "zbx-fail2ban-down",
        "fault",
        "tooling-down",
        lambda: zbx_alert("Fail2ban down on pbx-office", "proc.num[fail2ban-server]", severity="High"),
    ),
    case(
        "zbx-patroni-lags",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Patroni lags pg-node03", "patroni.replication.lag", severity="High"),
    ),
    case(
        "zbx-oracle-fra-low",
        "fault",
        "capacity",
        lambda: zbx_alert("ORCL FRA usage critical low ( < 15 )", "oracle.fra.free.pct", severity="High"),
    ),
    case(
        "am-app-named-web-ui-down",
        "incident",
        "endpoint-down",
        lambda: am_alert("OpenWebUIDown", "Open WebUI is down", expr='up{job="open-webui"} == 0', severity="critical"),
    ),
    case(
        "zbx-jmx-uptime-nodata",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("app-jvm01 JVM is not reachable", 'jmx["java.lang:type=Runtime",Uptime]', "JVM uptime"),
    ),
    case(
        "zbx-cluster-error-events",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "MSSQL: Cluster error events 1",
            'eventlog[System,,"Critical|Errors",FailoverClustering]',
            description="Some attached failover cluster nodes cannot communicate with each other.",
            severity="High",
        ),
    ),
    case(
        "zbx-waiting-tasks",
        "fault",
        "saturation",
        lambda: zbx_alert("MSSQL: SQL waiting tasks more than 500", "mssql.waiting.tasks", severity="High"),
    ),
    case(
        "zbx-shards-removed",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "MongoDB: One or more shards have been removed from the cluster", "mongo.shards", severity="High"
        ),
    ),
    case(
        "zbx-dag-copy-queue",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Copy queue length in DB02 > 500 mails", "exchange.dag.copyqueue[DB02]", severity="High"),
    ),
    case(
        "zbx-backend-sick",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Cache default boot.app02 backend is sick", "varnish.backend.happy[app02]", severity="High"),
    ),
    case(
        "zbx-monitoring-port-down",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("app01: Wildfly Monitoring port is down!", "net.tcp.service[tcp,,9990]", severity="High"),
    ),
    case(
        "zbx-log-daemon-not-running",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Varnish NCSA log is not running", "proc.num[varnishncsa]", severity="High"),
    ),
    case(
        "zbx-agent-not-running",
        "fault",
        "tooling-down",
        lambda: zbx_alert("Varnish Agent is not running", "proc.num[varnish-agent]", severity="High"),
    ),
    case(
        "zbx-mailbox-db-dismounted",
        "incident",
        "storage-offline",
        lambda: zbx_alert("Exchange MDB status: [MBX-DB01] Dismounted", "exchange.mdb.status[MBX-DB01]"),
    ),
    case(
        "am-delivery-success-rate-low",
        "incident",
        "user-path-errors",
        lambda: am_alert(
            "DeliverySuccessRateLow",
            "Delivery success rate below SLO (91.2%)",
            expr="mta_delivery_success_rate < 0.95",
        ),
    ),
    case(
        "am-postfix-deferred-stalled",
        "incident",
        None,
        lambda: am_alert(
            "PostfixQueueHigh",
            "stalled messages in queue deferred of mail01",
            expr="postfix_showq_message_age_seconds_count > 20",
        ),
    ),
    case(
        "am-proxy-stale-config",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "ProxyControlPlaneDisconnected",
            "Proxy edge-1 has been disconnected from the gateway control plane for 10m and is serving stale config",
            severity="critical",
        ),
    ),
    case(
        "am-quorum-at-risk",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "CephMonitorQuorumAtRisk", "Ceph monitor quorum has fewer than 3 members", severity="critical"
        ),
    ),
    case(
        "am-autoscaler-capacity",
        "fault",
        "capacity",
        lambda: am_alert("MaxInstanceScaleOut", "AutoScaler capacity reached 100%", severity="critical"),
    ),
    case(
        "am-app-works-without-cache",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "RedisDown",
            "Redis is down",
            "Redis has been down for more than 2 minutes. App will function but with degraded performance.",
            expr='redis_up{job="cache"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-spend-over-budget-share",
        "fault",
        "saturation",
        lambda: am_alert("AISpendExceeds80Percent", "AI spend at 80% of monthly budget", severity="critical"),
    ),
    case(
        "am-probe-series-missing",
        "fault",
        "metric-absent",
        lambda: am_alert(
            "CriticalServiceProbeMissing",
            "Critical service probe metrics are missing",
            expr='absent(probe_success{job="probes",service="api"})',
            severity="critical",
        ),
    ),
    case(
        "am-pipeline-failures",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("IngestPipelineFailures", "Ingest pipeline failures above 5 in 10m", severity="critical"),
    ),
    case(
        "am-migration-failed",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("SchemaMigrationFailed", "The database migration has failed", severity="critical"),
    ),
    case(
        "zbx-raid-physical-drive-failed",
        "fault",
        None,
        lambda: zbx_alert("RAID: Physical Drive Failed on db04", "raid.pd.status[0:1]", severity="High"),
    ),
    case(
        "zbx-load-segment-breaker-tripped",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("pdu-r12: Group Load Segment 2: Breaker tripped", "pdu.segment.breaker[2]"),
    ),
    case(
        "zbx-smartd-not-running",
        "fault",
        "tooling-down",
        lambda: zbx_alert("Smartd is not running on nas01", "proc.num[smartd]", severity="High"),
    ),
    case(
        "zbx-ups-not-online",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS ups-room2 is not online", "winpower.ups.status"),
    ),
    case(
        "am-ha-master-down",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "WorkloadClusterHAMasterDownForTooLong",
            "Control plane node in HA cluster w8x2k is down for a long time.",
            severity="critical",
        ),
    ),
    case(
        "am-node-network-unavailable-condition",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "KubernetesNetworkUnavailable",
            "Kubernetes network unavailable (instance ksm:8080)",
            expr='kube_node_status_condition{condition="NetworkUnavailable",status="true"} == 1',
            severity="critical",
        ),
    ),
    case(
        "am-inactive-agents",
        "fault",
        "cluster-member",
        lambda: am_alert("MesosInactiveAgents", "Mesos has inactive agents", severity="critical"),
    ),
    case(
        "am-pod-stuck-terminating",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "PodsBlockedInTerminatingState", "Pod shop/cart-1 blocked in Terminating state.", severity="critical"
        ),
    ),
    case(
        "am-lb-provisioning-error",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "LoadBalancerProvisioningError", "Load balancer lb-1 provisioning status is ERROR", severity="critical"
        ),
    ),
    case(
        "zbx-printer-paper-jam-pt",
        "incident",
        "printer-stopped",
        lambda: zbx_alert("Atolamento de papel detectado em prn-recepcao", item_key="prn.jam", severity="Average"),
    ),
    case(
        "zbx-printer-toner-empty",
        "incident",
        "printer-stopped",
        lambda: zbx_alert("Magenta toner cartridge empty", item_key="prtMarkerSuppliesLevel.1.3", severity="High"),
    ),
    case(
        "zbx-printer-toner-low-stays-fault",
        "fault",
        None,
        lambda: zbx_alert("Magenta toner cartridge low (below 10%)", item_key="prtMarkerSuppliesLevel.1.3"),
    ),
    case(
        "zbx-ospf-not-full",
        "incident",
        "link-down",
        lambda: zbx_alert("OSPF neighbour 10.9.0.2 is not in Full state", item_key="ospfNbrState[10.9.0.2]"),
    ),
    case(
        "zbx-dfsr-folder-error",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "Replicated folder Finance: state is In Error",
            item_key="dfsr.rf.state[Finance]",
            severity="High",
        ),
    ),
    case(
        "zbx-mssql-port-closed-pt",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("Porta 1433 do SQL Server fechada", item_key="net.tcp.port[,1433]", severity="Warning"),
    ),
    case(
        "zbx-termservice-state",
        "incident",
        "endpoint-down",
        lambda: zbx_alert("Terminal services state ({ITEM.LASTVALUE})", item_key="service.info[TermService]"),
    ),
    case(
        "zbx-generic-windows-service-state",
        "fault",
        "os-service-stopped",
        lambda: zbx_alert("Print Spooler state (6)", item_key="service.info[Spooler]"),
    ),
    case(
        "zbx-cert-remaining-days",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert("Remaining 9 days", item_key="ssl.notAfter[portal.acme.example,443]", severity="High"),
    ),
    case(
        "zbx-no-vmware-data",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("No VMware data for 2h", item_key="vmware.version[{$VMWARE.URL}]", severity="High"),
    ),
    case(
        "zbx-datastore-available-space",
        "fault",
        "capacity",
        lambda: zbx_alert("Available space is less than 8% on ds-sas-02", item_key="vmwDSUsed[2]", severity="High"),
    ),
    case(
        "zbx-port-down-on-switch",
        "fault",
        "link-member",
        lambda: zbx_alert("port9 down on switch FS1D24T419000111", item_key="fsw.port.status[9]", severity="Average"),
    ),
    case(
        "zbx-overheating-alarm",
        "fault",
        "temperature-warning",
        lambda: zbx_alert("Switch overheating alarm", item_key="sensor.alarm.heat", severity="Disaster"),
    ),
    case(
        "zbx-ephemeral-ports-exhausted",
        "incident",
        "errors-now",
        lambda: zbx_alert(
            "Windows could not allocate an ephemeral port on srv-app01",
            item_key="eventlog[System,,,,^4231$]",
            description="The forecast trigger fires earlier; this one confirms the failure.",
            severity="High",
        ),
    ),
    case(
        "am-idrac-ping-job",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "ManagementControllerNoPing",
            "idrac-r750-02 does not answer ping",
            expr='probe_success{job="idrac_icmp"} == 0',
            severity="warning",
        ),
    ),
    case(
        "am-site-switch-unpingable",
        "incident",
        "endpoint-down",
        lambda: am_alert("BranchSwitchUnpingable", "The switch at branch ams02 is unpingable", severity="critical"),
    ),
    case(
        "am-cluster-size-mismatch",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "RedisClusterSize",
            "Cluster size mismatch: a node has gone out of the cluster",
            expr='sum(redis_up{job="redis"}) < 6',
            severity="critical",
        ),
    ),
    case(
        "am-missing-volume",
        "incident",
        "storage-offline",
        lambda: am_alert("StorageVolumeMissing", "Storage service reports 2 missing volumes", severity="warning"),
    ),
    case(
        "am-cassandra-unavailables",
        "incident",
        "errors-now",
        lambda: am_alert(
            "CassandraClientRequestUnavailablesWrite",
            "Write failures have occurred because too many nodes were unavailable",
            severity="warning",
        ),
    ),
    case(
        "am-mysql-connection-errors-zh",
        "incident",
        "errors-now",
        lambda: am_alert("MySQL 连接错误过多", "mysql-03: 连接错误 > 1/s", severity="warning"),
    ),
    case(
        "am-pg-slow-queries-zh",
        "incident",
        "latency-breach",
        lambda: am_alert("PostgreSQL 慢查询", "pg-01 慢查询超过阈值", severity="warning"),
    ),
    case(
        "am-interface-throughput",
        "fault",
        "saturation",
        lambda: am_alert(
            "ThroughputOut",
            "Out of bandwidth on ae0",
            "Network throughput out is 9120 Mbps",
            expr="rate(ifHCOutOctets[2m])*8/1e6 > 9000",
            severity="critical",
        ),
    ),
    case(
        "zbx-bgp-peer-not-established-trap",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "BGP peer 198.51.100.9 is NOT Established",
            item_key="snmptrap[.*BGP Peer State Changed.*]",
            severity="High",
        ),
    ),
    case(
        "zbx-interface-traffic",
        "fault",
        "saturation",
        lambda: zbx_alert("Traffic on Gi0/1 - UPLINK-ISP2", item_key="ifHCInOctets[Gi0/1]", severity="High"),
    ),
    case(
        "zbx-optical-low-rx",
        "fault",
        "temperature-warning",
        lambda: zbx_alert("Low RX signal on optical module Te1/0/1", item_key="rxPower[Te1/0/1]", severity="Disaster"),
    ),
    case(
        "zbx-ospf-state-changes",
        "fault",
        "change-or-restart",
        lambda: zbx_alert("OSPF neighbour 10.0.0.2 state changes are too frequent", severity="Disaster"),
    ),
    case(
        "zbx-virtual-chassis-member",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Virtual Chassis member 1 not online (state 4)", item_key="jnxVirtualChassisMemberRole[1]"),
    ),
    case(
        "zbx-concurrent-requests",
        "fault",
        "saturation",
        lambda: zbx_alert(
            "Proxy has more than 5000 active connections",
            description="Connections back up when a service is failing.",
            severity="Warning",
        ),
    ),
    case(
        "zbx-status-page-unreachable",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Nginx: stub_status unreachable", item_key="nginx.connections.active", severity="High"),
    ),
    case(
        "zbx-resolver-socket-failures",
        "incident",
        "errors-now",
        lambda: zbx_alert("Resolver: socket open failures growing", item_key="bind.resolver[QuerySockFail]"),
    ),
    case(
        "zbx-sfp-loss-of-signal",
        "fault",
        "link-member",
        lambda: zbx_alert("SFP 3 loss of signal", item_key="sfp.los[3]", severity="High"),
    ),
    case(
        "zbx-backend-servers-down",
        "fault",
        "cluster-member",
        lambda: zbx_alert("One or more backend servers are down on lb-02", item_key="haproxy.backend.status"),
    ),
    case(
        "am-site-unreachable-zh",
        "incident",
        "endpoint-down",
        lambda: am_alert("办公网站不可访问", "crm.example.cn 不可访问, 当前状态: 502", severity="critical"),
    ),
    case(
        "am-device-no-ping-zh",
        "incident",
        "endpoint-down",
        lambda: am_alert("核心交换机ping不通", "10.1.0.1 超过1分钟 ping不通", severity="critical"),
    ),
    case(
        "am-some-units-down",
        "fault",
        "cluster-member",
        lambda: am_alert("AuthUnavailableSome", "Two units of auth-api in model prod are down", severity="error"),
    ),
    case(
        "am-all-units-down",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "PortalUnavailableAll", "All units of portal-operator in model prod are down", severity="critical"
        ),
    ),
    case(
        "am-ssh-port-unavailable",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "BastionSshUnavailable",
            "SSH unavailable on bastion-02",
            expr='probe_success{job="blackbox-tcp",instance="10.0.0.5:22"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-blocklist-stale",
        "fault",
        None,
        lambda: am_alert("DnsBlocklistStale", "Ad blocklists have not been refreshed for 3 days", severity="warning"),
    ),
    case(
        "am-proxy-no-backend",
        "incident",
        "errors-now",
        lambda: am_alert("SqlProxyBackendFail", "The SQL proxy fails to get backends", severity="major"),
    ),
    case(
        "am-backend-fetch-failures",
        "incident",
        None,
        lambda: am_alert(
            "VarnishBackendFailures",
            "Varnish backend fetch failures on cache-01 (420m/s)",
            "Clients are receiving errors from the cache.",
            expr="rate(varnish_main_backend_fail[5m]) > 0.1",
            severity="critical",
        ),
    ),
    case(
        "am-db-down-peer-alive",
        "fault",
        None,
        lambda: am_alert(
            "PostgreSQLDown",
            "PostgreSQL is not processing queries: db-2:9187",
            "db-2:9187 is rejecting query requests. User services should not be affected provided at least one "
            "node is still alive.",
            expr="pg_up != 1",
            severity="critical",
        ),
    ),
    case(
        "am-pmm-own-store-down",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "PMM ClickHouse is down",
            "PMM ClickHouse is down on '127.0.0.1:9363'",
            "The ClickHouse instance that PMM Server keeps Query Analytics data in is not responding.",
            expr='up{job="clickhouse"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-consul-peer-count",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "ConsulRaftPeers", "Consul 'dc1' does not have 5 peers.", expr="consul_raft_peers != 5", severity="critical"
        ),
    ),
    case(
        "am-replicator-crashing",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "CouchReplicatorCrashing",
            "CouchDB replicator jobs crashing on couch-1",
            "Replicator owners are crashing.",
            expr="rate(couchdb_replicator_owners_crashes[5m]) > 0",
            severity="critical",
        ),
    ),
    case(
        "am-uncaught-request-errors",
        "incident",
        None,
        lambda: am_alert(
            "AppUncaughtErrors",
            "Uncaught errors in the request layer on app-01",
            "The application is raising uncaught errors in the Rack layer (0.2/s).",
            expr="rate(rack_uncaught_errors_total[5m]) > 0.05",
            severity="warning",
        ),
    ),
    case(
        "am-client-transaction-errors",
        "incident",
        None,
        lambda: am_alert(
            "KvClientWriteErrorRate",
            "There is a high rate of errors for client write transactions",
            "30 percent of client write transactions are resulting in errors on kv-1.",
            expr="rate(kv_client_write_error[5m]) / rate(kv_client_write_total[5m]) > 0.25",
            severity="warning",
        ),
    ),
    case(
        "zbx-ftd-outside-link-down",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Secure FTD: Interface [Ethernet1/2][outside]: Link down",
            item_key="net.if.status[ifOperStatus.2]",
            severity="Average",
        ),
    ),
    case(
        "zbx-envoy-panic-mode",
        "incident",
        "errors-now",
        lambda: zbx_alert(
            "Envoy Proxy: Load balancer entered panic mode",
            item_key="envoy.cluster.lb_healthy_panic.rate",
            severity="Warning",
        ),
    ),
    case(
        "zbx-failed-to-fetch-page",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("Jenkins: Failed to fetch home page", item_key="jenkins.get", severity="Warning"),
    ),
    case(
        "zbx-failed-to-get-services",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Consul: Failed to get local services", item_key="consul.get_local_services.check", severity="Warning"
        ),
    ),
    case(
        "zbx-health-unknown",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("ES: Health is UNKNOWN", item_key="es.cluster.status", severity="High"),
    ),
    case(
        "zbx-check-params-wrong",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Certificate: Required params is not set: hostnames.",
            item_key="cert.get.data",
            severity="High",
            description='Some entries in the macro "a.example,b.example," are incorrect.',
        ),
    ),
    case(
        "zbx-ipmi-below-critical-low",
        "fault",
        "temperature-warning",
        lambda: zbx_alert(
            "IPMI: FAN2 value is below critical low (less than 500 for 5m)",
            item_key="ipmi.value[FAN2]",
            severity="High",
        ),
    ),
    case(
        "zbx-task-failed",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert(
            "Task [remote_copy_sync_set01]: Failed",
            item_key="array.task.status[remote_copy_sync_set01]",
            severity="High",
        ),
    ),
    case(
        "zbx-job-ended-not-ok",
        "fault",
        "backup-or-job-failed",
        lambda: zbx_alert(
            "Job [ctm01:00b1c]: status [Ended Not OK]", item_key="job.status['ctm01:00b1c']", severity="High"
        ),
    ),
    case(
        "zbx-firewall-web-server-stopped",
        "fault",
        "tooling-down",
        lambda: zbx_alert(
            "OPNsense: Web server is not running", item_key="opnsense.web.server.status", severity="Average"
        ),
    ),
    case(
        "zbx-adapter-port-failed",
        "fault",
        "link-member",
        lambda: zbx_alert(
            "Ethernet 10Gb 2-port Adapter port 1: Adapter has failed", item_key="hpe.nic.status[1]", severity="High"
        ),
    ),
    case(
        "zbx-raid-controller-battery",
        "fault",
        None,
        lambda: zbx_alert(
            "Server: Battery [Battery on Integrated RAID Controller 1]: Critical state",
            item_key="battery.status[1]",
            severity="High",
        ),
    ),
    case(
        "zbx-ipmi-chassis-power-off",
        "incident",
        "chassis-power-off",
        lambda: zbx_alert("Intel SR1530 IPMI: Power", item_key="power", severity="Warning"),
    ),
    case(
        "zbx-ipmi-power-supply-sensor",
        "fault",
        None,
        lambda: zbx_alert("Power supply 2 status", item_key="ipmi.psu.status[2]", severity="Warning"),
    ),
    case(
        "zbx-storage-controller-not-online",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "Storage: Controller [0A]: Running status is not Online",
            item_key='storage.controller.running_status["0A"]',
            severity="Average",
        ),
    ),
    case(
        "zbx-disk-health-not-normal",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert(
            "Storage: Disk [HSSD-7T6] on [CTE0.4]: Health status is not Normal",
            item_key='storage.disk.health_status["CTE0.4"]',
            severity="High",
        ),
    ),
    case(
        "zbx-ospf-neighbour-init",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Router: OSPF Neighbor [10.1.1.2]: State init", item_key="router.ospf.state[10.1.1.2]", severity="Average"
        ),
    ),
    case(
        "am-bfd-no-up-sessions",
        "incident",
        "link-down",
        lambda: am_alert(
            "GatewayBFDZeroSessions",
            "BFD has no Up sessions",
            "Pod gw-0 has had no Up BFD sessions for more than five minutes.",
            expr="bfdd_session_zero_seconds > 300",
        ),
    ),
    case(
        "am-backup-might-deadlock",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "BackupJobsNotRunning",
            "No backup jobs were run in prod within the last 24 hours. Check the operator, there might be a deadlock",
            severity="critical",
        ),
    ),
    case(
        "am-kubelet-down-one-node",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "KubeletDown", "Kubelet on 10.1.4.20:10250 is down", expr='up{job="kubelet"} == 0', severity="critical"
        ),
    ),
    case(
        "am-admission-webhook-latency",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "KyvernoAdmissionLatency",
            "Kyverno admission review p99 latency is elevated",
            "Admission review p99 latency is 1.4s, above the 1s threshold.",
        ),
    ),
    case(
        "am-site-major-outage",
        "incident",
        "redundancy-lost",
        lambda: am_alert(
            "SiteMajorOutage",
            "Major outage at branch-2: 18% of hosts up",
            "Only 18% of hosts at branch-2 are reporting. This is a major site-level infrastructure failure. "
            "Check power distribution, core switching, WAN link and UPS status.",
            severity="critical",
        ),
    ),
    case(
        "am-zfs-vdev-not-online",
        "fault",
        "physical-disk-failed",
        lambda: am_alert(
            "ZfsVdevNotOnline",
            "ZFS vdev unhealthy on nas-01",
            "Vdev ata-WDC_WD80 in pool tank is not ONLINE.",
            expr='zfs_vdev_health{state="ONLINE"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-icmp-probe-latency",
        "fault",
        None,
        lambda: am_alert(
            "HostHighLatency",
            "High latency detected for 1.1.1.1",
            expr='probe_duration_seconds{job="blackbox_icmp"} > 1',
        ),
    ),
    case(
        "am-sql-service-down",
        "incident",
        None,
        lambda: am_alert(
            "SqlServiceDown",
            "SQL service MSSQLSERVER down on SQL-01",
            "SQL Server service MSSQLSERVER is not running. Database is unavailable.",
            expr='windows_service_state{name=~"MSSQLSERVER|SQLAgent\\\\$.*", state="running"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-file-server-service-down",
        "incident",
        None,
        lambda: am_alert(
            "FileServerServiceDown",
            "File server service LanmanServer down on FS-01",
            "Service LanmanServer is not running. File shares may be inaccessible.",
            expr='windows_service_state{name=~"LanmanServer|DFSR", state="running"} == 0',
            severity="critical",
        ),
    ),
    case(
        "am-datastore-almost-full-czech",
        "fault",
        "capacity",
        lambda: am_alert(
            "VmwareDatastoreCritical", "Datastore DS-01 je téměř plný", "Volné místo: 4.2 %.", severity="critical"
        ),
    ),
    case(
        "zbx-ups-charge-critical",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            'UPS "rack1" charge is critical: 8 %', item_key='nut.battery.charge["rack1"]', severity="High"
        ),
    ),
    case(
        "zbx-ups-blackout",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("Blackout on ups-rack1", item_key="UPS-InputStatus", severity="Disaster"),
    ),
    case(
        "zbx-ups-minutes-remaining",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert(
            "LESS than 20 minutes battery remaining on ups-rack1",
            item_key="UPS-BatteryMinutesRemaining",
            severity="Disaster",
        ),
    ),
    case(
        "zbx-printer-empty-ink",
        "incident",
        "printer-stopped",
        lambda: zbx_alert("Empty Ink - Black", item_key="black", severity="High"),
    ),
    case(
        "zbx-unable-to-get-list",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Unable to get full list of Windows updates for FS01",
            item_key="winupdate.wsusavailability",
            severity="Warning",
        ),
    ),
    case(
        "zbx-pool-not-healthy",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert('Pool "tank" is not healthy', item_key="truenas.pool.healthy[tank]", severity="High"),
    ),
    case(
        "zbx-cert-expiring-today",
        "fault",
        "certificate-expiring",
        lambda: zbx_alert(
            'Certificate "mail.example.com" is expiring today',
            item_key="windows.certs.daystoexpire[1B7E]",
            severity="High",
        ),
    ),
    case(
        "zbx-wireguard-peer-disconnected",
        "incident",
        "link-down",
        lambda: zbx_alert(
            "Peer branch-2 disconnected for more than 3m",
            item_key="wireguard.peer.isconnected[tun_wg0,abc=]",
            severity="Warning",
        ),
    ),
    case(
        "zbx-ha-service-not-running",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Service ha status is not running", item_key="haService", severity="Average"),
    ),
    case(
        "zbx-ap-interface-not-running",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "MikroTik: Interface wlan2(guest): AP interface wlan2(guest) is not running",
            item_key="net.if.status[wlan2]",
        ),
    ),
    case(
        "zbx-controller-api-not-responding",
        "fault",
        "tooling-down",
        lambda: zbx_alert("Unifi API not responding", item_key="unifi.health", severity="High"),
    ),
    case(
        "zbx-controller-not-operational",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "HPE MSA: Controller A is not operational", item_key="msa.controller.status[A]", severity="High"
        ),
    ),
    case(
        "zbx-enclosure-health-not-ok",
        "fault",
        "hardware-health",
        lambda: zbx_alert("HPE MSA: Enclosure 1 health is not OK", item_key="msa.enclosure.health[1]", severity="High"),
    ),
    case(
        "zbx-interface-utilization",
        "fault",
        "saturation",
        lambda: zbx_alert("Interface Gi1/0/24 utilization >90", item_key="net.if.util[24]", severity="High"),
    ),
    case(
        "zbx-broadcast-storm",
        "fault",
        "saturation",
        lambda: zbx_alert("Interface 1/0/3: Broadcast storm detected", item_key="net.if.bcast[3]", severity="High"),
    ),
    case(
        "zbx-fcport-status",
        "fault",
        "link-member",
        lambda: zbx_alert(
            '3par-01 -> FCPort "1:0:2" operational status is "Stopped (10)"',
            item_key="oper.FCPort.[1:0:2]",
            severity="High",
        ),
    ),
    case(
        "zbx-disk-domain-offline",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            'DiskDomain "DD001" running status is Offline (28)', item_key="running.diskpool.[DD001]", severity="High"
        ),
    ),
    case(
        "zbx-virtual-disk-failure",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Virtual Disk - Virtual disk failure.", item_key="idrac.trap.vdisk", severity="High"),
    ),
    case(
        "zbx-ups-battery-very-low",
        "incident",
        "ups-power-lost",
        lambda: zbx_alert("UPS1: UPS battery is very low", item_key="ups.battery.status[UPS1]", severity="High"),
    ),
    case(
        "zbx-wan-subsystem-not-ok",
        "incident",
        "link-down",
        lambda: zbx_alert(
            'UniFi WAN Subsystem not "ok" on controller site [Office]',
            item_key="unifi.site.wan.status[1]",
            severity="High",
        ),
    ),
    case(
        "zbx-fewer-aps-online",
        "fault",
        "cluster-member",
        lambda: zbx_alert("Decreased online AP", item_key="wlc.ap.online.count", severity="High"),
    ),
    case(
        "zbx-xcc-not-responding",
        "fault",
        "tooling-down",
        lambda: zbx_alert("XCC: not responding to ICMP (unreachable)", item_key="icmpping", severity="High"),
    ),
    case(
        "zbx-portuguese-physical-disk",
        "fault",
        "physical-disk-failed",
        lambda: zbx_alert(
            "HPE MSA: Falha ou Alerta de integridade no Disco Fisico 1.4",
            item_key="msa.disk.health[1.4]",
            severity="High",
        ),
    ),
    case(
        "am-probe-with-labels",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "SiteCheck",
            "Site check for shop",
            expr='probe_success{job="blackbox_http", instance="https://shop.example"} == 0',
            severity="warning",
        ),
    ),
    case(
        "am-chinese-readonly-fs",
        "incident",
        "writes-stopped",
        lambda: am_alert("ECS文件系统只读", "web-02-/data：文件系统只读", expr="node_filesystem_readonly == 1"),
    ),
    case(
        "am-chinese-master-missing",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert(
            "redis主节点缺失",
            "redis主节点缺失",
            "主节点丢失5分钟",
            expr='count(redis_instance_info{role="master"}) == 0',
        ),
    ),
    case(
        "am-chinese-node-offline",
        "incident",
        "endpoint-down",
        lambda: am_alert("redis节点下线", "redis节点下线", expr="redis_up == 0"),
    ),
    case(
        "am-chinese-replica-offline",
        "fault",
        "cluster-member",
        lambda: am_alert("redis副本下线", "redis副本下线", expr="redis_connected_slaves < 1"),
    ),
    case(
        "am-chinese-replication-delay",
        "fault",
        "internal-latency",
        lambda: am_alert(
            "MySQL_主从复制延迟过高", "主从复制延迟过高: 120s", expr="mysql_slave_status_seconds_behind_master > 60"
        ),
    ),
    case(
        "am-chinese-cpu-high",
        "fault",
        "saturation",
        lambda: am_alert("业务进程CPU过高", "业务进程CPU过高: 95%", severity="critical"),
    ),
    case(
        "am-chinese-restart",
        "fault",
        "change-or-restart",
        lambda: am_alert("业务进程重启", "业务进程重启", severity="critical"),
    ),
    case(
        "am-chinese-collector",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "win_采集器状态", "WIN-APP02 iis：异常", expr="windows_exporter_collector_success == 0", severity="critical"
        ),
    ),
    case(
        "am-french-collection-lost",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "CollecteEndpointEnEchec",
            "Collecte perdue : SRV-APP02",
            "La cible ne répond plus à la collecte depuis 2 min.",
            expr="up == 0",
        ),
    ),
    case(
        "am-logging-cluster-probe",
        "fault",
        None,
        lambda: am_alert(
            "Logging cluster probe",
            "Logging cluster health check",
            "The logging cluster does not answer.",
            expr='probe_success{job="blackbox", instance="https://logs.example/_cluster/health"} == 0',
            severity="s3",
        ),
    ),
    case(
        "am-db-down-writes-buffered",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "PostgresDown",
            "PostgreSQL недоступен",
            "exporter не может подключиться к PostgreSQL: запись журнала буферизуется в памяти сервисов "
            "и будет дописана после восстановления.",
            expr="pg_up == 0",
            severity="critical",
        ),
    ),
    case(
        "am-cache-down-db-serves",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "ShopCacheUnavailable", "Redis unavailable, requests go directly to PostgreSQL", expr="cache_errors > 0"
        ),
    ),
    case(
        "am-customers-cannot-order",
        "incident",
        "user-path-errors",
        lambda: am_alert(
            "CheckoutFailuresSpike",
            "Растут отказы оформления заказов",
            "Покупатели не могут оформить заказ.",
            expr="rate(checkout_failures_total[10m]) > 0.2",
        ),
    ),
    case(
        "zbx-russian-unable-to-get-data",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("WB-7: Не удаётся получить данные", item_key="mqtt[metrics]", severity="High"),
    ),
    case(
        "zbx-russian-no-active-members",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert("Нет активных онушек", item_key="net.log", severity="Not classified"),
    ),
    case(
        "zbx-russian-memory-percent",
        "fault",
        "capacity",
        lambda: zbx_alert("Процент используемой оперативной памяти", item_key="mem.usage.percent", severity="Disaster"),
    ),
    case(
        "am-russian-task-not-done",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert(
            "ProcessingFailed", "Задача разбора не выполнена после повторов", expr="increase(tasks_failed[15m]) > 0"
        ),
    ),
    case(
        "zbx-pool-backend-node-down",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "pgpool-II backend node is down(db-2) on pool-01", item_key="pgpool.backend.status[db-2]", severity="High"
        ),
    ),
    case(
        "zbx-no-ping-from-db",
        "incident",
        "endpoint-down",
        lambda: zbx_alert(
            "PostgreSQL Health: no ping from PostgreSQL for 3 minutes on db-01",
            item_key="pgsql.ping[]",
            severity="High",
        ),
    ),
    case(
        "zbx-master-without-replicas",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "Redis Server[6379] is a master without slaves",
            item_key="redis.replication.connected_slaves[6379]",
            severity="High",
        ),
    ),
    case(
        "zbx-evicting-keys",
        "fault",
        "saturation",
        lambda: zbx_alert(
            "Redis Server[6379] is evicting keys", item_key="redis.stats.evicted_keys[6379]", severity="High"
        ),
    ),
    case(
        "zbx-sentinel-quorum",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "Redis Sentinel[26379] mymaster cannot reach quorum",
            item_key="redis.sentinel.ckquorum[26379,mymaster]",
            severity="High",
        ),
    ),
    case(
        "zbx-consumer-group-empty",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            "orders Number of Members is Zero (0)", item_key="kafka.consumergroup.members[orders]", severity="High"
        ),
    ),
    case(
        "zbx-no-queue-consumer",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            "No queue consumer found and messages present on: /orders",
            item_key="rabbitmq.queue.consumers[/,orders]",
            severity="High",
        ),
    ),
    case(
        "zbx-rabbit-partition",
        "incident",
        "quorum-or-leader-lost",
        lambda: zbx_alert("RabbitMQ Cluster partition detected", item_key="rabbitmq.partitions", severity="Average"),
    ),
    case(
        "zbx-fail-collection",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("[web-01] Fail collection Apache data", item_key="apache.status", severity="High"),
    ),
    case(
        "zbx-errors-in-errorlog",
        "fault",
        "hardware-or-infra-errors",
        lambda: zbx_alert(
            "Errors in SQL instance MSSQLSERVER ERRORLOG", item_key="mssql.errorlog[MSSQLSERVER]", severity="High"
        ),
    ),
    case(
        "zbx-chinese-500-in-log",
        "incident",
        "errors-now",
        lambda: zbx_alert("nginx日志500状态码监控", item_key="nginx.log.500", severity="Average"),
    ),
    case(
        "am-forward-healthcheck-failures",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "CoreDNSForwardHealthcheckFailureCount",
            "CoreDNS health checks have failed to upstream server 10.0.0.1.",
            expr="sum(rate(coredns_forward_healthcheck_failures_total[5m])) > 0",
        ),
    ),
    case(
        "am-gateway-latency",
        "fault",
        None,
        lambda: am_alert(
            "OPNsenseGatewayHighLatency",
            "Gateway WAN_DHCP latency is high (180 ms)",
            expr="opnsense_gateways_rtt_milliseconds > 150",
        ),
    ),
    case(
        "am-poller-absent",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "UnifiPollerAbsent",
            "Unifi Poller has disappeared from Prometheus target discovery.",
            expr='absent(up{job="unifi-poller"} == 1)',
            severity="critical",
        ),
    ),
    case(
        "am-bgp-no-established",
        "incident",
        "link-down",
        lambda: am_alert(
            "ContrailBGPSessionsNoEstablished",
            "There are no established BGP sessions on ntw-01",
            expr="min(contrail_bgp_session_count{state='up'}) by (host) == 0",
            severity="critical",
        ),
    ),
    case(
        "am-nic-carrier-down",
        "fault",
        "link-member",
        lambda: am_alert(
            "NodeNetworkCarrierDown",
            "Carrier down on eth1 of node-3",
            expr="node_network_carrier == 0",
            severity="critical",
        ),
    ),
    case(
        "am-slurm-node-down",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "SlurmNodeDown",
            "Slurm node compute-12 is down",
            expr="slurm_node_state{state='down'} > 0",
            severity="critical",
        ),
    ),
    case(
        "am-event-loop-lag",
        "fault",
        "internal-latency",
        lambda: am_alert(
            "StreamingEventloopLag",
            "Streaming event loop lag is 2.1s",
            expr="nodejs_eventloop_lag_seconds > 1",
            severity="critical",
        ),
    ),
    case(
        "am-app-target-down",
        "incident",
        "endpoint-down",
        lambda: am_alert("AppDown", "Marketplace API target down", expr='up{job="marketplace"} == 0', severity="page"),
    ),
    case(
        "am-breaker-open-writes-succeed",
        "fault",
        None,
        lambda: am_alert(
            "KafkaCircuitBreakerOpen",
            "The relay's Kafka producer circuit breaker is open",
            "The relay cannot reach Kafka. Outbox rows keep accumulating (writes still succeed) "
            "but nothing is being published.",
            expr="kafka_circuit_breaker_state == 2",
            severity="critical",
        ),
    ),
    case(
        "zbx-zero-online-nodes",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            'Pacemaker - zero "online nodes" count', item_key="pacemaker.nodes.online", severity="Disaster"
        ),
    ),
    case(
        "zbx-failover-cluster-not-online",
        "incident",
        "redundancy-lost",
        lambda: zbx_alert(
            'Failover Cluster "FS-CLU01" is not online', item_key='cluster.state["FS-CLU01"]', severity="Disaster"
        ),
    ),
    case(
        "zbx-broken-packages",
        "fault",
        "change-or-restart",
        lambda: zbx_alert("Broken packages detected", item_key="apt.broken", severity="High"),
    ),
    case(
        "am-cluster-fewer-nodes-than-configured",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "BrokerClusterDown",
            "Broker cluster down (instance mq-exporter.shop.example:9419)",
            "Fewer than 3 nodes running in the broker cluster",
            "sum(broker_running) < 3",
            severity="critical",
        ),
    ),
    case(
        "am-floating-ip-unassigned",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "FloatingIpNotAssigned",
            "Floating IP not assigned",
            "Public IP 203.0.113.7 is not assigned to any server.",
            "cloud_floating_ip_active == 0",
        ),
    ),
    case(
        "am-processor-errors-detected",
        "fault",
        "hardware-or-infra-errors",
        lambda: am_alert(
            "NodeProcessorError",
            "CPU errors detected",
            "CPU error(s) reported by the node's health check.",
            'node_health{check="cpu"} > 0',
            severity="critical",
        ),
    ),
    case(
        "am-error-log-entries",
        "fault",
        "hardware-or-infra-errors",
        lambda: am_alert(
            "AppErrorLogLines",
            "Error log entries on app-02",
            "Error or critical log lines written in the last 10 minutes",
            severity="critical",
        ),
    ),
    case(
        "am-open-files-over-share-of-capacity",
        "fault",
        "capacity",
        lambda: am_alert(
            "SearchOpenIndicesCritical",
            "Open indices critical",
            "Number of open indices exceeds 85% of the node capacity",
            severity="critical",
        ),
    ),
    case(
        "am-leader-not-elected",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert("DcsLeader", "DcsLeader", "A DCS leader has not been elected", severity="critical"),
    ),
    case(
        "am-insert-timeouts",
        "incident",
        "latency-breach",
        lambda: am_alert(
            "ShardSyncInsertionTimeoutExceeded",
            "Sync insertion timeouts increased",
            "Synchronous inserts into a distributed table time out after connecting.",
        ),
    ),
    case(
        "am-store-down-count",
        "fault",
        "cluster-member",
        lambda: am_alert("KvOfflineStores", "KV cluster offline stores", "", "sum(kv_cluster_store_down_count) > 0"),
    ),
    case(
        "am-system-time-went-backwards",
        "fault",
        "time-sync",
        lambda: am_alert("TsoSystemTimeSlow", "system time slow on the timestamp server", "the clock went backwards"),
    ),
    case(
        "zbx-leadership-setup-failures",
        "fault",
        "cluster-member",
        lambda: zbx_alert(
            "Secrets: High frequency of leadership setup failures",
            item_name="Leadership setup failed, counter",
        ),
    ),
    case(
        "zbx-zabbix-pinger-processes-busy",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert(
            "Zabbix icmp pinger processes more than 75% busy",
            item_key="zabbix[process,icmp pinger,avg,busy]",
        ),
    ),
    case(
        "zbx-licence-has-been-expired",
        "incident",
        "certificate-expired",
        lambda: zbx_alert("NGFW: Anti-Bot: License has been expired", item_key="fw.license.exp[antibot]"),
    ),
    case(
        "zbx-licence-bracket-has-expired",
        "incident",
        "certificate-expired",
        lambda: zbx_alert("FW-01: License [DNS Security]: Has expired", severity="High"),
    ),
    case(
        "zbx-licence-status-unsuccessful",
        "incident",
        "certificate-expired",
        lambda: zbx_alert("Firewall: Service [AntiSpam]: License status is unsuccessful"),
    ),
    case(
        "am-conntrack-table-near-limit",
        "fault",
        "capacity",
        lambda: am_alert(
            "NodeConntrackTableFull",
            "Number of tracked connections is near the limit",
            "The nf_conntrack table is 71% full.",
        ),
    ),
    case(
        "am-etcd-one-more-member-down",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "EtcdInsufficientMembers",
            "etcd cluster insufficient members",
            "If one more etcd member goes down the cluster will be unavailable",
            severity="critical",
        ),
    ),
    case(
        "am-cni-policy-delay",
        "fault",
        "tooling-down",
        lambda: am_alert(
            "CiliumPolicyImplementationDelay",
            "Cilium policy implementation delay",
            "P99 policy deployment delay exceeds 60 seconds.",
        ),
    ),
    case(
        "am-cni-dns-error-rate",
        "incident",
        "errors-now",
        lambda: am_alert(
            "CiliumHubbleDnsErrors",
            "Cilium Hubble high DNS error rate",
            "Hubble observes more than 10% DNS error responses.",
        ),
    ),
    case(
        "am-no-workers-registered",
        "incident",
        "redundancy-lost",
        lambda: am_alert(
            "StreamNoWorkersRegistered",
            "Stream processing: no workers registered",
            "No task workers are registered with the coordinator.",
            severity="critical",
        ),
    ),
    case(
        "am-tracing-storage-unavailable",
        "fault",
        "monitoring-itself",
        lambda: am_alert("JaegerStorageUnavailable", "Jaeger storage completely unavailable", severity="critical"),
    ),
    case(
        "am-operator-reconcile-errors",
        "fault",
        "tooling-down",
        lambda: am_alert("OperatorReconcileErrors", "Too many errors at reconcile loop of operator: 0.2"),
    ),
    case(
        "am-errors-for-vminsert",
        "fault",
        "monitoring-itself",
        lambda: am_alert("VmRpcErrors", "Too many RPC errors for vminsert (instance vminsert-02:8480)"),
    ),
    case(
        "am-domain-cannot-probe",
        "fault",
        "monitoring-itself",
        lambda: am_alert("DomainProbeFailure", "example.org: cannot probe", "Domain example.org is not valid."),
    ),
    case(
        "zbx-solar-load-overcurrent-flag",
        "incident",
        "load-disconnected",
        lambda: zbx_alert('Status: Device has "overcurrent" load faults flag', severity="High"),
    ),
    case(
        "zbx-inverter-voltage-disconnect-flag",
        "incident",
        "load-disconnected",
        lambda: zbx_alert('Status: Device has "lowVoltageDisconnect" faults flag', severity="High"),
    ),
    case(
        "zbx-solar-load-critical-state",
        "incident",
        "load-disconnected",
        lambda: zbx_alert("Load: Device load in critical state", item_key="load.state[loadState.0]", severity="High"),
    ),
    case(
        "zbx-solar-controller-reset-flag",
        "fault",
        "hardware-health",
        lambda: zbx_alert('Status: Device has "controllerWasReset" faults flag', severity="High"),
    ),
    case(
        "am-backend-requests-queuing-up",
        "fault",
        "saturation",
        lambda: am_alert("LbBackendRequestQueued", "Requests are queuing up on the shop backend", severity="critical"),
    ),
    case(
        "am-fewer-master-nodes-running",
        "fault",
        "cluster-member",
        lambda: am_alert(
            "SearchTooFewMasters",
            "Search cluster running on less than 3 master nodes",
            "There are only 2 < 3 search master nodes running in cluster logs-prod",
            severity="critical",
        ),
    ),
    case(
        "am-cache-cluster-slots-fail",
        "incident",
        "quorum-or-leader-lost",
        lambda: am_alert("CacheClusterSlotFail", "Cache cluster has slots fail", "", "cluster_slots_fail > 0"),
    ),
    case(
        "am-certificate-expired-by-expression",
        "incident",
        "certificate-expired",
        lambda: am_alert(
            "TlsCertificateExpired",
            "TLS certificate expired (instance https://portal.example)",
            "",
            "probe_ssl_earliest_cert_expiry - time() <= 0",
        ),
    ),
    case(
        "am-external-uptime-check-failing",
        "incident",
        "endpoint-down",
        lambda: am_alert("UptimeCheckFailing", "external uptime check failing", "", "uptime_check_up == 0"),
    ),
    case(
        "am-chinese-deadlocks",
        "incident",
        "user-path-errors",
        lambda: am_alert("PgDeadlocks", "[P1]-MySQL存在死锁", "实例为erp-db的死锁数量已大于5", severity="error"),
    ),
    case(
        "am-clients-experience-delays",
        "incident",
        "user-path-latency",
        lambda: am_alert(
            "PoolerHighWaitTime",
            "Clients are experiencing significant delays, which could indicate connection pool saturation.",
        ),
    ),
    case(
        "am-chinese-rabbitmq-node-down",
        "fault",
        "cluster-member",
        lambda: am_alert("RabbitNodeDown", "[P0]-Rabbitmq 节点宕机", "RabbitMQ实例宕机，请检查", severity="error"),
    ),
    case(
        "zbx-volume-health-fault",
        "incident",
        "storage-offline",
        lambda: zbx_alert("Volume [vd01]: Volume health is in fault state"),
    ),
    case(
        "zbx-disk-group-quarantined-still-tolerant",
        "fault",
        "default-not-severe",
        lambda: zbx_alert(
            "Disk group [dg02]: Disk group is quarantined with an inaccessible disk",
            description="The disk group has one inaccessible disk. It is fault tolerant but degraded.",
            severity="Warning",
        ),
    ),
    case(
        "zbx-errors-in-method-requests-to-api",
        "fault",
        "monitoring-itself",
        lambda: zbx_alert("There are errors in method requests to API", severity="High"),
    ),
    case(
        "am-db-down-or-exporter-cannot-collect",
        "incident",
        "endpoint-down",
        lambda: am_alert(
            "MysqlDown", "Mysql instance is Down or exporter user cannot collect data", "", "mysql_up == 0"
        ),
    ),
    case(
        "am-connection-failures-high",
        "incident",
        "errors-now",
        lambda: am_alert(
            "DbConnectionFailuresHigh",
            "More than 10 client connection failures in 5 minutes",
            "",
            "delta(mysql_global_status_aborted_connects[5m]) > 10",
        ),
    ),
    case(
        "am-rabbitmq-disk-free-limit-alarm",
        "incident",
        None,
        lambda: am_alert(
            "RabbitMQDiskAlarmCritical",
            "RabbitMQ Disk Free Limit Alarm",
            "Disk low-space alarm active on mq01:15692.",
            "rabbitmq_alarms_disk_free_watermark == 1",
            severity="critical",
        ),
    ),
    case(
        "am-chinese-backup-missing",
        "fault",
        "backup-or-job-failed",
        lambda: am_alert("RedisRdbLost", "redis备份丢失", "redis实例超过24小时未备份", severity="critical"),
    ),
    case(
        "am-chinese-memory-over-percent",
        "fault",
        "saturation",
        lambda: am_alert("EsNodeAlert", "内存超过百分之80", "处理：es主机查看内存使用点", severity="critical"),
    ),
    case(
        "am-cluster-health-checks-timed-out",
        "fault",
        "monitoring-itself",
        lambda: am_alert(
            "EsHealthTimedOut",
            "es集群健康检查超时",
            "Number of cluster health checks timed out > 0",
            "elasticsearch_cluster_health_timed_out > 0",
            severity="critical",
        ),
    ),
    case(
        "zbx-hypervisor-storage-not-available",
        "incident",
        "storage-offline",
        lambda: zbx_alert("Storage [local-lvm] not available", item_key="proxmox.storage.active[local-lvm]"),
    ),
    case(
        "zbx-printer-error-state",
        "incident",
        "printer-stopped",
        lambda: zbx_alert("Printer reports an error state", severity="Warning"),
    ),
    case(
        "zbx-dhcp-scope-high-volume-of-leases",
        "fault",
        "saturation",
        lambda: zbx_alert("DHCP: Scope [10.0.0.0]: High volume of leases", severity="High"),
    ),
    case(
        "zbx-firewall-ha-auto-sync-disabled",
        "fault",
        "cluster-member",
        lambda: zbx_alert("HA Auto Sync- fw-01.shop.example - Disable", severity="High"),
    ),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    kinds = [p.values[1] for p in CASES]
    assert kinds.count("incident") >= 15 and kinds.count("fault") >= 15
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize(("make", "kind", "rule"), CASES)
def test_realistic_alert(make: Callable[[], Alert], kind: str, rule: str | None) -> None:
    alert = make()
    c = CLASSIFIER.classify(alert)
    explain = f"{c.kind}/{c.rule}: {c.reason}"
    assert c.kind == kind, explain
    if rule is not None:
        assert c.rule == rule, explain


# Russian trigger names as MSPs write them in their own Zabbix templates: meaning, not severity, decides.
RU_TRIGGERS = [
    ("Сервер недоступен по ICMP", "incident"),
    ("Заканчивается место на диске /", "fault"),
    ("Деградация RAID массива md0", "fault"),
    ("Отказ блока питания 1", "fault"),
    ("Сайт www.example.ru не отвечает", "incident"),
    ("Высокая загрузка ЦП (более 90% в течение 5м)", "fault"),
    ("Истекает срок действия сертификата (осталось 7 дней)", "fault"),
    ("Ошибки 5xx на веб-сервере", "incident"),
    ("Нет данных от агента Zabbix 30 минут", "fault"),
    ("Интернет-канал провайдера упал", "incident"),
    ("Резервное копирование завершилось с ошибкой", "fault"),
    ("Почта не доставляется: очередь растёт", "incident"),
    ("Диск C: заполнен на 100%", "incident"),
    ("Высокая температура процессора", "fault"),
    ("ИБП работает от батарей", "incident"),
    ("Перезагрузка сервера", "fault"),
    ("Время ответа сайта превышает 5 секунд", "incident"),
    ("Отказ вентилятора 2", "fault"),
    ("Отказ обоих блоков питания", "incident"),
    ("VPN-туннель в филиал недоступен", "incident"),
    ("База данных недоступна", "incident"),
    ("Репликация отстаёт более чем на 10 минут", "fault"),
    ("Мало свободной памяти", "fault"),
    ("SMART: предсказан отказ диска sda", "fault"),
    ("Сертификат истёк", "incident"),
    ("Массив RAID развалился", "incident"),
    ("Потеря пакетов 20%", "fault"),
    ("Работа от батарей", "incident"),
    ("Отсутствует входное напряжение на ИБП", "incident"),
    ("Заряда хватит менее чем на 10 минут", "incident"),
    ("Блок питания 2: нет электропитания", "fault"),
    ("Истекла лицензия на антивирус", "incident"),
    ("Лицензия закончится через 30 дней", "fault"),
    ("Сбор данных SNMP отсутствует", "fault"),
    ("Не поступают данные от датчика", "fault"),
    ("Сервер выключен", "incident"),
    ("Из сети пропало 10 абонентских терминалов", "incident"),
    ("Нода rabbit@mq2 не работает", "fault"),
    ("Сообщения в очереди не обрабатываются", "fault"),
    ("Документы в буфере старше 3 дней", "fault"),
    ("Попытки несанкционированного доступа", "fault"),
    ("Затопление в серверной", "fault"),
    ("Ошибка при выполнении задания выгрузки", "fault"),
    ("Расхождение времени с сервером более 60 секунд", "fault"),
    ("Много неуспешных платежей", "incident"),
    ("Исчерпаны соединения почтового сервера", "incident"),
    ("Проблемы с видеопотоком камеры", "incident"),
    ("ИБП srv-ups работает от АКБ", "incident"),
    ("ИБП: низкий заряд батареи", "incident"),
    ("Низкий заряд батареи датчика протечки", "fault"),
    ("Невозможно получить данные с сервера видеонаблюдения", "fault"),
    ("Контроллер (B) - состояние: Degraded", "fault"),
    ("Физ. диск (2.4) - состояние: Fault", "fault"),
    ("1С: недоступен сервис RAS на порту 1545", "fault"),
    ("Использованы все клиентские лицензии 1С", "incident"),
    ("Включена блокировка начала сеансов в информационной базе", "incident"),
    ("Превышен порог длительности пользовательского вызова", "incident"),
    ("Табличные пространства полностью заполнены", "incident"),
    ("Проблема с сетевым интерфейсом у одной из нод кластера", "fault"),
    ("Зависимость частично недоступна", "fault"),
    ("Осталось менее 5% тонера", "fault"),
    ("Interface Gi0/3: Интерфейс недоступен", "fault"),
    ("Статус контроллера дискового массива: сбой", "incident"),
    ("Статус виртуального диска: сбой", "incident"),
    ("Диск 2 был отформатирован", "fault"),
    ("Проба мониторинга не работает на pc-01", "fault"),
    ("Сертификат истекает через 9 дн.", "fault"),
    ("Сертификат истек", "incident"),
    ("Канал [Вход 1]: Нет сигнала", "incident"),
    ("Канал [Двор]: Потеря сигнала ≥5 раз за 1ч", "fault"),
    ("Память, занимаемая rphost.exe, превышает 80 от всей памяти", "fault"),
    ("Пул tank имеет статус degraded на ноде pve2", "fault"),
    ("Бумага застряла в лотке 2 на mfu-buh", "incident"),
    ("Статус системы: авария", "fault"),
    ("Обнаружены ошибки в логах сервера app-01", "fault"),
]


@pytest.mark.parametrize(("name", "kind"), RU_TRIGGERS, ids=[n for n, _ in RU_TRIGGERS])
@pytest.mark.parametrize("severity", ["Warning", "Disaster"])
def test_russian_trigger_names(name: str, kind: str, severity: str) -> None:
    c = CLASSIFIER.classify(zbx_alert(name, severity=severity))
    assert c.kind == kind, f"{c.kind}/{c.rule}: {c.reason}"
