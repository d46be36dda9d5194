#!/usr/bin/env bash
# A single-node SLURM cluster on localhost with accounting (munge + MariaDB + slurmdbd + slurmctld + slurmd), so the
# SLURM profile is exercised against the real sbatch/squeue/sacct, not a mock. Debian packages; needs root.
# Idempotent: a second call finds the daemons running and only waits for the node to be idle.
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/var/tmp/motforge-slurm}
CLUSTER=motforge
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm slurmdbd munge mariadb-server (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server >/dev/null
fi

MARK="# written by motforge tests/slurm/start_local_slurm.sh"
for conf in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
    if [ -e "$conf" ] && ! grep -qF "$MARK" "$conf"; then
        echo "refusing to overwrite $conf: it was not written by this script (a real cluster's config?)" >&2
        exit 2
    fi
done

mkdir -p "$STATE"/{spool,state,log} /run/munge /run/mysqld /etc/slurm
chown munge:munge /run/munge && chmod 0755 /run/munge
chown mysql:mysql /run/mysqld

# munge: the authentication every SLURM daemon and client uses.
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
    su -s /bin/sh munge -c "/usr/sbin/munged"
fi

# MariaDB: slurmdbd's store (sacct reads job states from it).
if ! pgrep -x mariadbd >/dev/null; then
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
    (mysqld_safe --user=mysql --skip-networking=0 --bind-address=127.0.0.1 >"$STATE/log/mysqld.out" 2>&1 &)
    for _ in $(seq 60); do mariadb -e "select 1" >/dev/null 2>&1 && break; sleep 1; done
fi
mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

cat >/etc/slurm/slurmdbd.conf <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
EOF
chmod 0600 /etc/slurm/slurmdbd.conf

cat >/etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
MinJobAge=300
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

if ! pgrep -x slurmdbd >/dev/null; then
    /usr/sbin/slurmdbd
    for _ in $(seq 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
fi
sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd

for _ in $(seq 90); do
    state=$(sinfo -h -N -o "%t" 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mix|alloc) echo "local SLURM cluster '$CLUSTER' up: node $HOST ($CPUS CPUs, $MEM_MB MB), state $state"; exit 0 ;;
        down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
echo "local SLURM cluster did not come up; logs in $STATE/log" >&2
tail -n 20 "$STATE"/log/*.log >&2 || true
exit 1
