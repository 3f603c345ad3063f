<?php
// Prints the plugins-enabled/ file for one Adminer plugin named on the
// command line (tables-filter -> AdminerTablesFilter), or says on stderr
// that the plugin needs parameters and which file to write instead.
if ($argc !== 2 || !preg_match('~^[a-z0-9-]+$~', $argv[1])) {
	fwrite(STDERR, "usage: php plugin-loader.php PLUGIN-NAME\n");
	exit(1);
}
$name = $argv[1];
$file = __DIR__ . "/plugins/$name.php";
if (!is_readable($file)) {
	fwrite(STDERR, "Unable to load plugin \"$name\": there is no plugins/$name.php\n");
	exit(1);
}
require_once $file;
$class = 'Adminer' . str_replace(' ', '', ucwords(str_replace('-', ' ', $name)));
if (!class_exists($class)) {
	fwrite(STDERR, "Unable to load plugin \"$name\": plugins/$name.php defines no class $class\n");
	exit(1);
}
$ctor = (new ReflectionClass($class))->getConstructor();
if ($ctor && $ctor->getNumberOfRequiredParameters() > 0) {
	$params = array_map(function ($p) { return $p->getName(); }, array_slice($ctor->getParameters(), 0, $ctor->getNumberOfRequiredParameters()));
	fwrite(STDERR, "Unable to load plugin \"$name\", because it has required parameters: " . implode(', ', $params) . "\n");
	fwrite(STDERR, "Create a file \"/var/www/html/plugins-enabled/$name.php\" that requires plugins/$name.php and returns new $class(...)\n");
	exit(1);
}
echo "<?php\nrequire_once 'plugins/$name.php';\nreturn new $class();\n";
