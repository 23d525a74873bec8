package lessons

// mntLogic is written by the engineer who owns lesson 04; until then
// the content lint test fails on its empty logic.
func mntLogic() Logic { return Logic{} }
