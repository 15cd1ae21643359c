// Package uboot builds U-Boot command sequences the way LAVA does: the
// command lists of base-uboot.jinja2 (and of vexpress.jinja2, whose order
// differs) from the device type's template variables, then the dispatcher's
// substitution of {KERNEL}, {KERNEL_ADDR}, {BOOTX}, ... in which a line whose
// placeholder has no value is dropped.
//
// Template says how the board's lists look (console, kernel arguments, high
// limits, extra commands); Job says what this job deployed (files, kernel
// type, server address). Commands renders a named list, Substitutions and
// Substitute fill it, and Build does all three.
//
// This package imports the standard library and the sdk package only; it
// never touches a console or a file.
package uboot
