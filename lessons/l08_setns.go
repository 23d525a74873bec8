package lessons

// setnsLogic is written by the engineer who owns lesson 08; until then
// the content lint test fails on its empty logic.
func setnsLogic() Logic { return Logic{} }
