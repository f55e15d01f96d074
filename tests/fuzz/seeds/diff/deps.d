x.o: x.c a.h \
  dir/b\ c.h $$money.h \
  /usr/include/stdio.h

a.h:
