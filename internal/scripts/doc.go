// Package scripts holds the tests of the maintainers' scripts in
// scripts/: release.sh, run on a copy of the repository in a new git
// repository with a bare repository as its remote; perfdoc.sh, run on
// saved benchmark output; and the .gitignore's build outputs. The package
// has no code of its own.
package scripts
