# The tutorial's mysql-init.pp trimmed to need no internet: instead of the Puppet
# Forge's puppetlabs-mysql, the machine's MariaDB binaries run a server of the
# node's own, in a folder of its own, with the database and user the hiera data
# names. The same hiera keys as the tutorial's.
$mysql_password = hiera("rootpassword")
$db_name = hiera("dbname")
$db_user = hiera("dbuser")
$db_pass = hiera("dbpass")
$datadir = '/root/occopus-mariadb'
$socket = "${datadir}/mysqld.sock"

exec { 'mariadb data folder':
  command => "/usr/bin/mariadb-install-db --no-defaults --datadir=${datadir} --user=root --auth-root-authentication-method=socket",
  creates => "${datadir}/mysql",
}
-> exec { 'mariadb server':
  command  => "setsid /usr/sbin/mariadbd --no-defaults --datadir=${datadir} --socket=${socket} --pid-file=${datadir}/mysqld.pid --bind-address=0.0.0.0 --port=3306 --user=root </dev/null >${datadir}.log 2>&1 & for i in \$(seq 100); do test -S ${socket} && exit 0; sleep 0.1; done; exit 1",
  provider => shell,
  unless   => "test -S ${socket}",
}
-> exec { 'the database and its user':
  command  => "/usr/bin/mariadb --no-defaults -S ${socket} -u root -e \"CREATE DATABASE IF NOT EXISTS ${db_name}; CREATE USER IF NOT EXISTS '${db_user}'@'%' IDENTIFIED BY '${db_pass}'; GRANT ALL ON ${db_name}.* TO '${db_user}'@'%'; ALTER USER 'root'@'localhost' IDENTIFIED BY '${mysql_password}'\"",
  provider => shell,
  unless   => "/usr/bin/mariadb --no-defaults -h 127.0.0.1 -u '${db_user}' -p'${db_pass}' ${db_name} -e 'SELECT 1'",
}
