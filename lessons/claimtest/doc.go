// Package claimtest holds no code: its tests demonstrate, on this kernel,
// the kernel rules the lessons state (lesson.toml's [[claims]] with a
// test), each with the host compared before and after. The tests are
// named by the claims they demonstrate; TestLessonClaimsNameTheseTests holds the
// lesson data and this package to each other.
package claimtest
