# The tutorial's wordpress-init.pp trimmed to need no internet: instead of the
# Forge's apache, php and wordpress modules, a page at /wordpress that says
# which database it would use, served by the machine's Python. The same hiera
# keys as the tutorial's.
$db_name = hiera("dbname")
$db_user = hiera("dbuser")
$db_pass = hiera("dbpass")
$db_host = hiera("mysqlhost")
$site = '/root/occopus-www'

file { [$site, "${site}/wordpress"]:
  ensure => directory,
}
-> file { "${site}/wordpress/index.html":
  content => "WordPress on database ${db_name} at ${db_host} as ${db_user}\n",
}
-> exec { 'web server':
  command  => "setsid /usr/bin/python3 -m http.server 80 --directory ${site} </dev/null >${site}.log 2>&1 & echo \$! > ${site}.pid; for i in \$(seq 100); do curl -fs -o /dev/null http://127.0.0.1/wordpress/ && exit 0; sleep 0.1; done; exit 1",
  provider => shell,
  unless   => "curl -fs -o /dev/null http://127.0.0.1/wordpress/",
}
