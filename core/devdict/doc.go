// Package devdict reads a device dictionary: the per-device settings that
// name the device type a device is and override that type's settings.
//
// Two forms are read. LAVA's jinja2 form, unchanged from a LAVA lab:
//
//	{% extends 'soca9.jinja2' %}
//	{% set connection_command = 'telnet localhost 7002' %}
//	{% set user_commands = {'touch': {'do': "touch /tmp/bla"}} %}
//
// where every value is a Python literal (quoted strings, numbers,
// True/False/None, lists, tuples, dicts; a `set` may span lines) and comments
// {# ... #} are skipped. Anything else a template could hold (if, for, block,
// filters, {{ expressions }}, arithmetic) is refused with the line it is on:
// a dictionary is data, not a program.
//
// And this project's YAML form:
//
//	extends: soca9
//	settings:
//	  connection_command: telnet localhost 7002
//	  bootz_dtb_addr: '0x00001000'
//
// Merge layers settings (driver defaults < admin overrides < dictionary).
//
// It imports the standard library and gopkg.in/yaml.v3 only.
package devdict
