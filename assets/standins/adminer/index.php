<?php
// Front page of the adminer stand-in (collabstack; not the official
// image). Adminer calls adminer_object() when it is defined: it gets the
// plugins the entry point enabled (plugins-enabled/*.php, each returning a
// plugin object) and, last, one that fills the login form's empty server
// field with ADMINER_DEFAULT_SERVER ("db" when unset), as upstream does.
namespace collabstack_standin {
	class DefaultServer {
		function loginFormField($name, $heading, $value) {
			if ($name !== 'server' || strpos($value, 'value=""') === false) {
				return null;
			}
			$server = getenv('ADMINER_DEFAULT_SERVER');
			if ($server === false || $server === '') {
				$server = 'db';
			}
			return $heading . str_replace('value=""', 'value="' . htmlspecialchars($server, ENT_QUOTES) . '"', $value);
		}
	}

	function adminer_object() {
		require_once 'plugins/plugin.php';
		$plugins = array();
		foreach (glob('plugins-enabled/*.php') as $file) {
			$plugins[] = require $file;
		}
		$plugins[] = new DefaultServer();
		return new \AdminerPlugin($plugins);
	}
}

namespace {
	$uri = basename(parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_PATH) ?: '');
	if ($uri === 'adminer.css' && is_readable('adminer.css')) {
		header('Content-Type: text/css');
		readfile('adminer.css');
		exit;
	}

	function adminer_object() {
		return \collabstack_standin\adminer_object();
	}

	require 'adminer.php';
}
