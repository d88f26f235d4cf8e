"""scoring/final"""
