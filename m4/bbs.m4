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
