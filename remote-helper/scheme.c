/* SPDX-License-Identifier: MIT */
/*
 * scheme.c - registering `git bbs callback` as the handler of a
 * private-use URI scheme (RFC 8252 §7.1) for the current user.
 *
 * freedesktop (Linux, BSD desktops): a .desktop file in
 * $XDG_DATA_HOME/applications and `xdg-mime default`.  macOS: an AppleScript
 * applet built with osacompile in ~/Applications whose Info.plist claims
 * the scheme, registered with Launch Services.  Windows: keys under
 * HKCU\Software\Classes\<scheme>.  What a platform would write can be
 * printed on any platform (--dry-run); it is carried out only on its own.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

#define SCHEME_MAX 64

int
scheme_valid(const char *s)
{
	size_t i;

	/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (s == NULL || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= SCHEME_MAX || !(isalnum((unsigned char)s[i]) ||
		    s[i] == '+' || s[i] == '-' || s[i] == '.'))
			return 0;
	/* the private-use form: a reversed domain name, never http(s) */
	return strchr(s, '.') != NULL;
}

char *
scheme_of_redirect(const char *uri)
{
	size_t n;
	char *s;

	if (uri == NULL)
		return NULL;
	n = strcspn(uri, ":");
	if (uri[n] != ':')
		return NULL;
	s = xstrndup(uri, n);
	for (n = 0; s[n] != '\0'; n++)
		s[n] = (char)tolower((unsigned char)s[n]);
	if (strcmp(s, "http") == 0 || strcmp(s, "https") == 0 ||
	    !scheme_valid(s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* The absolute path of the running git-bbs, for the handler to run. */
static char *
self_path(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return xstrdup("git-bbs");
	buf[n] = '\0';
	return xstrdup(buf);
}

static char *
applications_dir(void)
{
	const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (data != NULL && data[0] == '/')
		return xasprintf("%s/applications", data);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/share/applications", home);
	err_set(BBS_E_INVALID, "neither XDG_DATA_HOME nor HOME is set");
	return NULL;
}

/*
 * The .desktop entry.  xdg-open's own launcher splits Exec on blanks and
 * takes no quotes, so a path with anything but [A-Za-z0-9/._+-] in it is
 * left to PATH: "git-bbs".
 */
static char *
desktop_entry(const char *scheme, const char *exe)
{
	const char *p;

	for (p = exe; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._+-", *p) == NULL)
			exe = "git-bbs";
	return xasprintf("[Desktop Entry]\n"
	    "Type=Application\n"
	    "Name=git-remote-bbs sign-in\n"
	    "Comment=Hands an OAuth sign-in response to the waiting git bbs\n"
	    "Exec=%s callback %%u\n"
	    "Terminal=false\n"
	    "NoDisplay=true\n"
	    "MimeType=x-scheme-handler/%s;\n", exe, scheme);
}

/* Write `text` to `path` by temporary file and rename, mode 0644. */
static int
write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd, r = 0;

	if ((fd = mkstemp(tmp)) < 0) {
		r = err_set(BBS_E_IO, "cannot write '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || write_fd_all(fd, text, strlen(text)) != 0 ||
	    fsync(fd) != 0) {
		r = err_set(BBS_E_IO, "cannot write '%s': %s", path,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		r = err_set(BBS_E_IO, "cannot write '%s': %s", path,
		    strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	return r;
}

static int
run_checked(const char *const argv[])
{
	int r = run_quiet(argv, NULL, NULL);

	if (r > 0)
		return err_set(BBS_E_ERROR, "'%s' failed (exit code %d)",
		    argv[0], r);
	return r;
}

int
scheme_handler(const char *scheme, char *out, size_t len)
{
	char mime[SCHEME_MAX + 32];
	const char *argv[] = { "xdg-mime", "query", "default", mime, NULL };
	struct buf b;
	int r;

	out[0] = '\0';
	snprintf(mime, sizeof(mime), "x-scheme-handler/%s", scheme);
	buf_init(&b, 4096);
	r = run_quiet(argv, NULL, &b);
	if (r == 0 && b.ptr != NULL)
		snprintf(out, len, "%.*s", (int)strcspn(b.ptr, "\n"), b.ptr);
	buf_release(&b);
	err_clear();
	return r < 0 ? -1 : out[0] != '\0';
}

static int
freedesktop(const char *scheme, int unregister, int dry_run, FILE *say)
{
	char *dir = applications_dir(), *path = NULL, *name = NULL;
	char *exe = self_path(), *entry = NULL, mime[SCHEME_MAX + 32];
	const char *argv[] = { "xdg-mime", "default", NULL, mime, NULL };
	int r = 0;

	if (dir == NULL) {
		free(exe);
		return BBS_E_INVALID;
	}
	name = xasprintf("git-bbs-%s.desktop", scheme);
	path = xasprintf("%s/%s", dir, name);
	snprintf(mime, sizeof(mime), "x-scheme-handler/%s", scheme);
	argv[2] = name;
	if (unregister) {
		fprintf(say, "%s %s\n", dry_run ? "would remove" : "removed",
		    path);
		if (!dry_run && unlink(path) != 0 && errno != ENOENT)
			r = err_set(BBS_E_IO, "cannot remove '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	entry = desktop_entry(scheme, exe);
	if (dry_run) {
		fprintf(say, "would write %s:\n%s", path, entry);
		fprintf(say, "would run: xdg-mime default %s %s\n", name, mime);
		goto out;
	}
	if ((r = mkdirs(dir, 0755)) != 0 || (r = write_file(path, entry)) != 0 ||
	    (r = run_checked(argv)) != 0)
		goto out;
	fprintf(say, "Registered git bbs as the handler of %s: URIs (%s, "
	    "xdg-mime default).\n", scheme, path);
out:
	free(entry);
	free(exe);
	free(name);
	free(path);
	free(dir);
	return r;
}

static int
macos(const char *scheme, int unregister, int dry_run, FILE *say)
{
	const char *home = getenv("HOME");
	char *app, *exe = self_path();

	app = xasprintf("%s/Applications/GitBbsCallback-%s.app",
	    home ? home : "~", scheme);
	if (!dry_run) {
		free(app);
		free(exe);
		return err_set(BBS_E_UNSUPPORTED, "registering a macOS handler "
		    "works only on macOS (use --dry-run to see what it writes)");
	}
	if (unregister) {
		fprintf(say, "would remove %s\n", app);
	} else {
		fprintf(say, "would run: osacompile -o %s -e 'on open location "
		    "theURL' -e 'do shell script quoted form of \"%s\" & \" "
		    "callback \" & quoted form of theURL' -e 'end open location'\n",
		    app, exe);
		fprintf(say, "would add to %s/Contents/Info.plist: "
		    "CFBundleIdentifier org.git-remote-bbs.callback.%s, "
		    "LSBackgroundOnly true, CFBundleURLTypes = ({ "
		    "CFBundleURLName = \"git-remote-bbs sign-in\"; "
		    "CFBundleURLSchemes = (\"%s\"); })\n", app, scheme, scheme);
		fprintf(say, "would run: /System/Library/Frameworks/"
		    "CoreServices.framework/Frameworks/LaunchServices.framework/"
		    "Support/lsregister -f %s\n", app);
	}
	free(app);
	free(exe);
	return 0;
}

static int
windows(const char *scheme, int unregister, int dry_run, FILE *say)
{
	if (!dry_run)
		return err_set(BBS_E_UNSUPPORTED, "registering a Windows handler "
		    "works only on Windows (use --dry-run to see what it "
		    "writes)");
	if (unregister) {
		fprintf(say, "would run: reg delete "
		    "HKCU\\Software\\Classes\\%s /f\n", scheme);
		return 0;
	}
	fprintf(say, "would run: reg add HKCU\\Software\\Classes\\%s /ve /d "
	    "\"URL:git-remote-bbs sign-in\" /f\n", scheme);
	fprintf(say, "would run: reg add HKCU\\Software\\Classes\\%s /v "
	    "\"URL Protocol\" /d \"\" /f\n", scheme);
	fprintf(say, "would run: reg add HKCU\\Software\\Classes\\%s\\shell\\"
	    "open\\command /ve /d \"\\\"git.exe\\\" bbs callback \\\"%%1\\\"\" "
	    "/f\n", scheme);
	return 0;
}

int
scheme_register(const char *scheme, const char *platform, int unregister,
    int dry_run, FILE *say)
{
	if (!scheme_valid(scheme))
		return err_set(BBS_E_INVALID, "'%s' is not a private-use URI "
		    "scheme (a reversed domain name such as org.example.app)",
		    scheme);
	if (platform == NULL) {
#ifdef __APPLE__
		platform = "macos";
#else
		platform = "freedesktop";
#endif
	}
	if (strcmp(platform, "freedesktop") == 0)
		return freedesktop(scheme, unregister, dry_run, say);
	if (strcmp(platform, "macos") == 0)
		return macos(scheme, unregister, dry_run, say);
	if (strcmp(platform, "windows") == 0)
		return windows(scheme, unregister, dry_run, say);
	return err_set(BBS_E_INVALID, "unknown platform '%s' (use freedesktop, "
	    "macos or windows)", platform);
}

int
scheme_ensure_registered(const char *redirect_uri)
{
	char *scheme = scheme_of_redirect(redirect_uri), handler[512];
	int r = 0;

#ifdef __APPLE__
	free(scheme);
	return 0;	/* Launch Services cannot be asked cheaply */
#endif
	if (scheme == NULL)
		return 0;
	if (scheme_handler(scheme, handler, sizeof(handler)) == 0)
		r = scheme_register(scheme, "freedesktop", 0, 0, stderr);
	free(scheme);
	return r;
}
