dnl SPDX-License-Identifier: MIT
dnl BBS_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
dnl Compile and link a trivial program with FLAG added, treating warnings
dnl about unknown options as failures.
AC_DEFUN([BBS_CHECK_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	bbs_check_saved_cflags="$CFLAGS"
	bbs_check_saved_ldflags="$LDFLAGS"
	CFLAGS="$CFLAGS $1 -Werror"
	LDFLAGS="$LDFLAGS $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([[]], [[return 0;]])],
		[AC_MSG_RESULT([yes])
		 CFLAGS="$bbs_check_saved_cflags"
		 LDFLAGS="$bbs_check_saved_ldflags"
		 $2],
		[AC_MSG_RESULT([no])
		 CFLAGS="$bbs_check_saved_cflags"
		 LDFLAGS="$bbs_check_saved_ldflags"
		 $3])
])

dnl BBS_LIBGIT2_FEATURES
dnl What the installed libgit2 (1.5.1 to 1.9.x, and 2.0's announced
dnl interface) offers, found by compiling against its headers rather than
dnl by its version number:
dnl   HAVE_GIT2_SYS_ERRORS_H	git_error_set_str moved there in 1.8
dnl   HAVE_GIT_OID_FROM_STRING	git_oid_from_string(out, str, type), 2.0
dnl   HAVE_GIT_OID_FROMSTR_TYPE	git_oid_fromstr(out, str, type): 1.7 to
dnl				1.9 built with experimental SHA-256
dnl   HAVE_LIBGIT2_SHALLOW	git_fetch_options.depth, in a libgit2 of
dnl				1.9.0 or later: 1.7 and 1.8 have the member
dnl				but lose shallow roots and break negotiation
dnl				over HTTP, which no compile check can see
dnl git_remote_connect_ext and its options are required (1.5 has them).
AC_DEFUN([BBS_LIBGIT2_FEATURES], [
	bbs_lg2_saved_cppflags="$CPPFLAGS"
	bbs_lg2_saved_libs="$LIBS"
	CPPFLAGS="$CPPFLAGS $LIBGIT2_CFLAGS"
	LIBS="$LIBGIT2_LIBS $LIBS"
	AC_CHECK_HEADERS([git2/sys/errors.h], [], [], [[#include <git2.h>]])
	AC_CHECK_FUNCS([git_oid_from_string])
	AC_CACHE_CHECK([whether git_oid_fromstr takes an object id type],
		[bbs_cv_git_oid_fromstr_type],
		[AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <git2.h>]],
			[[git_oid o; return git_oid_fromstr(&o, "", GIT_OID_SHA1);]])],
			[bbs_cv_git_oid_fromstr_type=yes],
			[bbs_cv_git_oid_fromstr_type=no])])
	AS_IF([test "x$bbs_cv_git_oid_fromstr_type" = xyes],
		[AC_DEFINE([HAVE_GIT_OID_FROMSTR_TYPE], [1],
			[Define to 1 if git_oid_fromstr takes an object id type.])])
	AC_CHECK_MEMBERS([git_fetch_options.depth], [], [], [[#include <git2.h>]])
	AC_CACHE_CHECK([whether libgit2 fetches shallow histories correctly (1.9 or later)],
		[bbs_cv_libgit2_shallow],
		[AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <git2.h>]], [[
#if LIBGIT2_VER_MAJOR < 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR < 9)
#error shallow fetches are broken before libgit2 1.9.0
#endif
			git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
			fo.depth = 1;
			return fo.depth;]])],
			[bbs_cv_libgit2_shallow=yes],
			[bbs_cv_libgit2_shallow=no])])
	AS_IF([test "x$bbs_cv_libgit2_shallow" = xyes],
		[AC_DEFINE([HAVE_LIBGIT2_SHALLOW], [1],
			[Define to 1 if libgit2 fetches shallow histories correctly.])])
	AC_MSG_CHECKING([for git_remote_connect_ext with connect options])
	AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <git2.h>]], [[
		git_remote_connect_options co;
		git_remote_connect_options_init(&co,
		    GIT_REMOTE_CONNECT_OPTIONS_VERSION);
		return git_remote_connect_ext(0, GIT_DIRECTION_FETCH, &co);]])],
		[AC_MSG_RESULT([yes])],
		[AC_MSG_RESULT([no])
		 AC_MSG_ERROR([libgit2 lacks git_remote_connect_ext; install libgit2 1.5 or later])])
	CPPFLAGS="$bbs_lg2_saved_cppflags"
	LIBS="$bbs_lg2_saved_libs"
])
