#!/bin/sh
# Creates the data folder, seeds items(id, name indexed, create_time, update_time)
# with DB_ROWS rows in bootstrap mode (no network: nobody sees a half-seeded
# table), then serves on STACKBENCH_HOST:STACKBENCH_PORT. Readiness is the
# port accepting connections, which happens only after seeding.
set -eu
rows="${DB_ROWS:-1000}"
case "$rows" in *[!0-9]*|'') echo "DB_ROWS must be a whole number, got '$rows'" >&2; exit 2;; esac
data=/var/lib/mysql
mkdir -p /run/mysqld "$data"
chown mysql:mysql /run/mysqld "$data"
echo "seeding $rows rows"
mariadb-install-db --user=mysql --datadir="$data" --skip-test-db --auth-root-authentication-method=socket >/dev/null
mariadbd --user=mysql --datadir="$data" --bootstrap <<SQL
FLUSH PRIVILEGES;
CREATE DATABASE bench;
CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
CREATE USER 'bench'@'localhost' IDENTIFIED BY 'bench';
GRANT ALL ON bench.* TO 'bench'@'127.0.0.1';
GRANT ALL ON bench.* TO 'bench'@'localhost';
USE bench;
CREATE TABLE items (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  create_time DATETIME NOT NULL,
  update_time DATETIME NOT NULL,
  KEY idx_name (name)
) ENGINE=InnoDB;
INSERT INTO items (name, create_time, update_time)
  SELECT CONCAT('name-', seq), NOW() - INTERVAL seq SECOND, NOW() FROM seq_1_to_${rows};
SQL
echo "seeded; serving"
exec mariadbd --user=mysql --datadir="$data" \
  --bind-address="${STACKBENCH_HOST:-127.0.0.1}" --port="${STACKBENCH_PORT:-3306}" \
  --socket=/run/mysqld/mysqld.sock --skip-name-resolve --max-connections=4000 \
  --innodb-buffer-pool-size="${DB_BUFFER_POOL:-256M}" --innodb-flush-log-at-trx-commit=2
