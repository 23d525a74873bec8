package lessons

// overviewLogic is written by the engineer who owns lesson 01; until then
// the content lint test fails on its empty logic.
func overviewLogic() Logic { return Logic{} }
