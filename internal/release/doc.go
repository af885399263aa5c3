// Package release holds the test of scripts/release.sh, which tags the
// root module and the nested modules: it runs the script on a copy of the
// repository in a new git repository, with a bare repository as the
// remote. The package has no code of its own.
package release
