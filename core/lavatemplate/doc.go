// Package lavatemplate imports LAVA device-type templates (the
// `*.jinja2` files of a LAVA installation's device-types folder) as device
// types of this project (issue 16).
//
// A LAVA device-type template extends a base template (base-uboot.jinja2,
// base-barebox.jinja2, ...) through a chain of others (`*-common.jinja2`)
// and, at its top level, sets the variables that shape the base's output:
//
//	{% extends 'base-uboot.jinja2' %}
//	{% set console_device = console_device|default('ttyO0') %}
//	{% set bootz_kernel_addr = '0x82000000' %}
//	{% if extra_kernel_args %}
//	{% set extra_kernel_args = "earlycon " + extra_kernel_args %}
//	{% endif %}
//
// The base's output is what this project's boot-method driver for that base
// produces from those variables (the generic `uboot` driver for
// base-uboot), so an import keeps the chain's top-level statements (every
// template between the type's own and its base, their text unchanged: the
// lab's files, not copies of LAVA's) and Evaluate runs them, as LAVA's
// Jinja2 does, over a device dictionary's variables when a job is scheduled
// and planned. The dictionary's `set`s come first, so `x|default(v)` keeps
// the dictionary's x, and conditions on dictionary variables take the
// branch LAVA would.
//
// The statements understood are `extends`, `set NAME = EXPR`,
// `if`/`elif`/`else`, comments, and blocks (whose content feeds the base's
// output: a block the boot-method driver does not reproduce is refused, one
// that only changes timeouts is ignored with a note). Expressions are
// Jinja2's literals, names, `+ - * / // % ~`, comparisons, `in`, `and or
// not`, `x if c else y`, `is defined`/`is none`/`is string`, and the
// filters default (d), string, int, float, lower, upper, trim, join and
// length. Anything else is refused with the template and line.
//
// It imports the standard library only.
package lavatemplate
