package lessons

// containerLogic is written by the engineer who owns lesson 10; until then
// the content lint test fails on its empty logic.
func containerLogic() Logic { return Logic{} }
